package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/protos"
)

// maxBatchBytes bounds one StreamRequest the client sends: tasks ready
// together go in one message, up to this size.
const maxBatchBytes = 1 << 20

// stream is one SubmitStream: a sender goroutine batches what Submit
// queues, a receiver goroutine dispatches replies by seq.
type stream struct {
	c      *Client
	s      protos.TaskService_SubmitStreamClient
	cancel context.CancelFunc
	node   string
	done   chan struct{} // closed when the receiver has ended
	wake   chan struct{} // cap 1

	mu        sync.Mutex
	seq       uint64
	calls     map[uint64]*call
	tasks     []*protos.StreamTask
	cancels   []uint64
	closeSend bool
	err       error // why the stream ended; under mu, set before done closes
}

// call is one task on the stream.
type call struct {
	seq     uint64
	p       *actors.Promise
	ack     chan error // cap 1: nil once accepted, the refusal otherwise
	acked   bool       // under stream.mu
	stopCtx func() bool
}

// open opens a stream; c.mu is held.
func (c *Client) open() (*stream, error) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := c.api.SubmitStream(c.streamMD(ctx))
	if err == nil {
		var md interface{ Get(string) []string }
		if md, err = s.Header(); err == nil && len(md.Get("drover-window")) == 0 {
			// A refusal comes as trailers only: Recv gives it.
			if _, err = s.Recv(); err == nil {
				err = errors.New("the node sent no stream header")
			}
		}
		if err == nil {
			st := &stream{c: c, s: s, cancel: cancel, done: make(chan struct{}), wake: make(chan struct{}, 1), calls: map[uint64]*call{}}
			if v := md.Get("drover-node"); len(v) > 0 {
				st.node = v[0]
			}
			c.wg.Add(2)
			go func() { defer c.wg.Done(); st.send() }()
			go func() { defer c.wg.Done(); st.receive() }()
			return st, nil
		}
	}
	cancel()
	if e := c.callError(err); e != err {
		return nil, e
	}
	return nil, fmt.Errorf("%w: %w", ErrConnection, err)
}

func (st *stream) broken() bool {
	select {
	case <-st.done:
		return true
	default:
		return false
	}
}

func (st *stream) signal() {
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// add queues a task and returns its call. bind, when not nil, cancels the
// task when it ends.
func (st *stream) add(env *protos.TaskEnvelope, bind context.Context) *call {
	cl := &call{ack: make(chan error, 1)}
	cl.p = actors.NewPromise(env.GetId(), func() bool { return st.cancelCall(cl) })
	st.mu.Lock()
	st.seq++
	cl.seq = st.seq
	if st.err != nil {
		err := st.err
		st.mu.Unlock()
		st.fail(cl, err)
		return cl
	}
	st.calls[cl.seq] = cl
	st.tasks = append(st.tasks, &protos.StreamTask{Seq: cl.seq, Task: env})
	st.mu.Unlock()
	if bind != nil && bind.Done() != nil {
		cl.stopCtx = context.AfterFunc(bind, func() { cl.p.Future().Cancel() })
	}
	st.signal()
	return cl
}

// cancelCall is a Future's Cancel: it ends the future with ErrCanceled
// and asks the node to cancel the task; the node's reply still frees the
// task's slot.
func (st *stream) cancelCall(cl *call) bool {
	if !cl.p.Complete(actors.Result{Err: fmt.Errorf("%w: by Future.Cancel", actors.ErrCanceled), Node: st.node}) {
		return false
	}
	st.mu.Lock()
	if _, ok := st.calls[cl.seq]; ok && st.err == nil {
		st.cancels = append(st.cancels, cl.seq)
	}
	st.mu.Unlock()
	st.signal()
	return true
}

// abandon is for a Submit whose context ended before the node answered:
// the task is canceled whatever the answer.
func (st *stream) abandon(cl *call) { cl.p.Future().Cancel() }

func (st *stream) closeSendNow() {
	st.mu.Lock()
	st.closeSend = true
	st.mu.Unlock()
	st.signal()
}

// send writes queued tasks and cancellations in batches.
func (st *stream) send() {
	var batch []*protos.StreamTask
	for {
		select {
		case <-st.wake:
		case <-st.done:
			return
		}
		st.mu.Lock()
		tasks, cancels, closing := st.tasks, st.cancels, st.closeSend
		st.tasks, st.cancels = batch[:0], nil
		st.mu.Unlock()
		batch = tasks
		for len(tasks) > 0 || len(cancels) > 0 {
			n, size := 0, 0
			for n < len(tasks) && (n == 0 || size < maxBatchBytes) {
				size += taskSize(tasks[n].GetTask())
				n++
			}
			if err := st.s.Send(&protos.StreamRequest{Tasks: tasks[:n], Cancel: cancels}); err != nil {
				st.cancel() // the receiver sees why
				return
			}
			clear(tasks[:n])
			tasks, cancels = tasks[n:], nil
		}
		batch = batch[:0]
		if closing {
			_ = st.s.CloseSend()
			return
		}
	}
}

// receive dispatches replies until the stream ends, then fails what is
// left.
func (st *stream) receive() {
	var err error
	for {
		var resp *protos.StreamResponse
		if resp, err = st.s.Recv(); err != nil {
			break
		}
		for _, r := range resp.GetReplies() {
			st.reply(r)
		}
	}
	if errors.Is(err, io.EOF) {
		err = fmt.Errorf("%w: the node ended the stream", ErrConnection)
	} else if e := st.c.callError(err); e != err {
		err = fmt.Errorf("%w: %w", ErrConnection, e)
	} else {
		err = fmt.Errorf("%w: %w", ErrConnection, err)
	}
	st.mu.Lock()
	st.err = err
	calls := st.calls
	st.calls = map[uint64]*call{}
	st.mu.Unlock()
	for _, cl := range calls {
		st.fail(cl, err)
	}
	close(st.done)
	st.cancel()
}

// fail ends a call whose stream broke.
func (st *stream) fail(cl *call, err error) {
	if !cl.acked {
		cl.ack <- err
	}
	if cl.stopCtx != nil {
		cl.stopCtx()
	}
	cl.p.Complete(actors.Result{Err: fmt.Errorf("%w: %w", actors.ErrCanceled, err), Node: st.node})
	<-st.c.slots
}

func (st *stream) reply(r *protos.StreamReply) {
	st.mu.Lock()
	cl := st.calls[r.GetSeq()]
	if cl == nil {
		st.mu.Unlock()
		return
	}
	switch r.GetKind() {
	case protos.StreamReply_KIND_ACCEPTED:
		first := !cl.acked
		cl.acked = true
		st.mu.Unlock()
		if first {
			cl.ack <- nil
		}
		return
	case protos.StreamReply_KIND_REFUSED, protos.StreamReply_KIND_RESULT:
		delete(st.calls, cl.seq)
		first := !cl.acked
		cl.acked = true
		st.mu.Unlock()
		if cl.stopCtx != nil {
			cl.stopCtx()
		}
		if r.GetKind() == protos.StreamReply_KIND_REFUSED {
			err := &refused{err: actors.ResultError(r.GetError()), retryAfter: r.GetRetryAfter().AsDuration()}
			cl.p.Complete(actors.Result{Err: err, Node: st.node})
			<-st.c.slots
			if first {
				cl.ack <- err
			}
			return
		}
		cl.p.Complete(resultOf(r.GetResult(), st.node))
		<-st.c.slots
		if first {
			cl.ack <- nil
		}
	default:
		st.mu.Unlock()
	}
}

// taskSize estimates a task's encoded size, to bound a batch without
// encoding it twice.
func taskSize(t *protos.TaskEnvelope) int {
	n := 48 + len(t.GetId()) + len(t.GetType()) + len(t.GetPool()) + len(t.GetKey()) + len(t.GetPayload())
	if t.GetMessage() != nil || len(t.GetMetadata()) > 0 {
		n += proto.Size(t)
	}
	return n
}
