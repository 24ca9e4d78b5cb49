package api

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/protos"
)

// Bounds of one StreamResponse: replies are sent in batches of whatever
// is ready, up to these.
const (
	maxBatchReplies = 512
	maxBatchBytes   = 1 << 20
)

// DetachHeader is the request header ("drover-detach: 1") of a
// SubmitStream whose tasks run on when the stream ends.
const DetachHeader = "drover-detach"

// WindowHeader is the response header of a SubmitStream that gives its
// window: the most unfinished tasks the node holds for it.
const WindowHeader = "drover-window"

// pending is an accepted task of a stream without its result, and its
// ACCEPTED reply with the batch it was queued in.
type pending struct {
	f        *actors.Future
	ack      *protos.StreamReply
	ackBatch uint64
}

// stream is one SubmitStream. The handler's goroutine writes replies; a
// reader goroutine takes requests. Each task holds a slot of the window
// from its reading until its last reply (REFUSED or RESULT) is sent.
type stream struct {
	s      *Server
	ss     protos.TaskService_SubmitStreamServer
	ctx    context.Context
	detach bool
	slots  chan struct{} // a token per task held

	mu    sync.Mutex
	out   []*protos.StreamReply
	bySeq map[uint64]pending
	// batch counts the batches the writer has taken from out; a reply
	// appended during batch n is still unsent while batch == n.
	batch   uint64
	readErr error
	readEnd bool
	wake    chan struct{} // cap 1: out or readEnd changed
}

// SubmitStream implements protos.TaskServiceServer.
func (s *Server) SubmitStream(ss protos.TaskService_SubmitStreamServer) error {
	if s.isStopping() || s.node.Draining() {
		return s.grpcError(errStopping)
	}
	st := &stream{
		s:     s,
		ss:    ss,
		ctx:   ss.Context(),
		slots: make(chan struct{}, s.o.window),
		bySeq: map[uint64]pending{},
		wake:  make(chan struct{}, 1),
	}
	if md, ok := metadata.FromIncomingContext(st.ctx); ok {
		if v := md.Get(DetachHeader); len(v) > 0 && (v[0] == "1" || v[0] == "true") {
			st.detach = true
		}
	}
	_ = ss.SendHeader(metadata.Pairs(WindowHeader, itoa(s.o.window), NodeHeader, s.nodeName))
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		st.read()
	}()
	return st.write()
}

// read takes requests until the stream ends.
func (st *stream) read() {
	var err error
	for {
		var req *protos.StreamRequest
		if req, err = st.ss.Recv(); err != nil {
			break
		}
		for _, t := range req.GetTasks() {
			// A slot for the task, then a token of the connection's budget:
			// until both come, nothing more is read.
			select {
			case st.slots <- struct{}{}:
			default:
				st.signal() // what is queued goes out while this waits
				select {
				case st.slots <- struct{}{}:
				case <-st.ctx.Done():
					err = st.ctx.Err()
				}
			}
			if err == nil {
				err = waitBudget(st.ctx)
			}
			if err != nil {
				break
			}
			st.submit(t.GetSeq(), t.GetTask())
		}
		// Cancellations after the tasks: one may name a task of the same
		// request.
		for _, seq := range req.GetCancel() {
			st.mu.Lock()
			f := st.bySeq[seq].f
			st.mu.Unlock()
			if f != nil {
				f.Cancel()
			}
		}
		// The replies to a request's tasks go out together.
		st.signal()
		if err != nil {
			break
		}
	}
	st.mu.Lock()
	st.readEnd = true
	if !errors.Is(err, io.EOF) {
		st.readErr = err
	}
	st.mu.Unlock()
	st.signal()
}

func (st *stream) signal() {
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// push queues a reply; the reader signals the writer once it has gone
// through the request.
func (st *stream) push(r *protos.StreamReply) {
	st.mu.Lock()
	st.out = append(st.out, r)
	st.mu.Unlock()
}

// submit submits one task of the stream and queues its replies.
func (st *stream) submit(seq uint64, env *protos.TaskEnvelope) {
	var bind context.Context
	if !st.detach {
		bind = st.ctx
	}
	if env == nil {
		st.refuse(seq, errors.New("task is missing"))
		return
	}
	onResult := func(res *protos.TaskResult) {
		st.mu.Lock()
		p, ok := st.bySeq[seq]
		delete(st.bySeq, seq)
		if ok && p.ackBatch == st.batch {
			// Its ACCEPTED is still unsent: the RESULT takes its place.
			p.ack.Kind, p.ack.Result, p.ack.Id = protos.StreamReply_KIND_RESULT, res, ""
		} else {
			st.out = append(st.out, &protos.StreamReply{Seq: seq, Kind: protos.StreamReply_KIND_RESULT, Result: res})
		}
		st.mu.Unlock()
		st.signal()
	}
	if env.GetId() != "" {
		a, err := st.s.submitKept(env, bind, onResult)
		if err != nil {
			st.refuse(seq, err)
			return
		}
		if a.dup {
			// Another submission's task: its result comes to this stream
			// from a waiter of its own.
			st.mu.Lock()
			st.out = append(st.out, &protos.StreamReply{Seq: seq, Kind: protos.StreamReply_KIND_ACCEPTED, Id: a.id, Duplicate: true})
			st.mu.Unlock()
			st.signal()
			st.s.wg.Add(1)
			go func() {
				defer st.s.wg.Done()
				select {
				case <-a.e.done:
					_, res, _ := st.s.tasks.state(a.e)
					onResult(res)
				case <-st.ctx.Done():
				}
			}()
			return
		}
		f, res, _ := st.s.tasks.state(a.e)
		st.accepted(seq, a.id, f, res != nil)
		return
	}
	if st.s.isStopping() {
		st.refuse(seq, errStopping)
		return
	}
	t, err := actors.TaskFromEnvelope(env)
	if err != nil {
		st.refuse(seq, err)
		return
	}
	t.Context = bind
	t.OnResult = func(r actors.Result) { onResult(resultProto("", r)) }
	f, err := st.s.node.TrySubmit(t)
	if err != nil {
		st.refuse(seq, err)
		return
	}
	_, done := f.Result()
	st.accepted(seq, "", f, done)
}

// accepted records an accepted task for Cancel and queues its ACCEPTED
// reply, unless its result came first: onResult (which runs after the
// Future is done) queues the RESULT, which then stands for both.
func (st *stream) accepted(seq uint64, id string, f *actors.Future, done bool) {
	if !done && f != nil {
		if _, done = f.Result(); !done {
			st.mu.Lock()
			// Under st.mu: onResult, which deletes the entry, runs after
			// the Future is done, so either it finds the entry or the
			// check below sees the result.
			if _, done = f.Result(); !done {
				ack := &protos.StreamReply{Seq: seq, Kind: protos.StreamReply_KIND_ACCEPTED, Id: id}
				st.bySeq[seq] = pending{f: f, ack: ack, ackBatch: st.batch}
				st.out = append(st.out, ack)
			}
			st.mu.Unlock() // the reader signals the writer after the request

		}
	}
}

func (st *stream) refuse(seq uint64, err error) {
	r := st.s.classify(err)
	reply := &protos.StreamReply{Seq: seq, Kind: protos.StreamReply_KIND_REFUSED,
		Error: &protos.TaskError{Code: actors.ErrorCode(err), Message: strings.ToValidUTF8(err.Error(), "\uFFFD")}}
	if r.retryAfter > 0 {
		reply.RetryAfter = durationpb.New(r.retryAfter)
	}
	st.push(reply)
}

// write sends replies as they come, and ends the stream once the client
// has stopped sending and every task has its last reply sent; or when the
// stream breaks; or when the server stops and the stream holds no task.
func (st *stream) write() error {
	var batch []*protos.StreamReply
	stopping, nodeDone, ending := st.s.stopping, st.s.node.Done(), false
	for {
		st.mu.Lock()
		ready := st.out
		st.out = batch[:0]
		st.batch++
		readEnd, readErr := st.readEnd, st.readErr
		st.mu.Unlock()
		batch = ready
		for len(batch) > 0 {
			n, size := 0, 0
			for n < len(batch) && n < maxBatchReplies && (n == 0 || size < maxBatchBytes) {
				size += replySize(batch[n])
				n++
			}
			if err := st.ss.Send(&protos.StreamResponse{Replies: batch[:n]}); err != nil {
				return err
			}
			for _, r := range batch[:n] {
				if r.Kind != protos.StreamReply_KIND_ACCEPTED {
					<-st.slots
				}
			}
			clear(batch[:n])
			batch = batch[n:]
		}
		batch = ready[:0]
		if len(ready) > 0 {
			continue // more may have come while sending
		}
		held := len(st.slots)
		switch {
		case readErr != nil && held == 0:
			return readErr
		case readEnd && held == 0:
			return nil
		case ending && held == 0:
			return st.s.grpcError(errStopping)
		}
		select {
		case <-st.wake:
		case <-st.ctx.Done():
			return st.ctx.Err()
		case <-stopping:
			stopping, ending = nil, true
		case <-nodeDone:
			nodeDone, ending = nil, true
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// NodeHeader is the response header of a SubmitStream that names the node.
const NodeHeader = "drover-node"

// replySize estimates a reply's encoded size, to bound a batch without
// encoding it twice.
func replySize(r *protos.StreamReply) int {
	res, te := r.GetResult(), r.GetError()
	if res != nil && res.GetError() != nil {
		te = res.GetError()
	}
	return 48 + len(r.GetId()) + len(res.GetTaskId()) + len(res.GetOutput()) + len(res.GetWorker()) +
		len(te.GetMessage()) + len(te.GetStack())
}
