package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/protos"
	"github.com/drover-go/drover/supervision"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func (s *Server) unaryAuth(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := s.checkMD(ctx); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (s *Server) streamAuth(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := s.checkMD(ss.Context()); err != nil {
		return err
	}
	return h(srv, ss)
}

func (s *Server) checkMD(ctx context.Context) error {
	if s.o.token == nil {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if s.authorized(v) {
			return nil
		}
	}
	return status.Error(codes.Unauthenticated, "api: a bearer token is required (authorization: Bearer TOKEN)")
}

// newID returns a random task id: 16 bytes, hex.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// accepted is the outcome of a submission through the table.
type accepted struct {
	id  string
	dup bool
	e   *entry
}

// submitKept submits env as a task kept in the table under its id (one is
// picked if it has none), or finds the task already there under that id.
// bind, when not nil, is the task's Context; notify, when not nil, is
// called with the task's result, as well.
func (s *Server) submitKept(env *protos.TaskEnvelope, bind context.Context, notify func(*protos.TaskResult)) (accepted, error) {
	if s.isStopping() {
		return accepted{}, errStopping
	}
	t, err := actors.TaskFromEnvelope(env)
	if err != nil {
		return accepted{}, err
	}
	if t.ID == "" {
		t.ID = newID()
	}
	e, dup := s.tasks.reserve(t.ID)
	if dup {
		<-e.ready // decided within a TrySubmit
		_, _, err := s.tasks.state(e)
		if err != nil {
			return accepted{}, err
		}
		return accepted{id: t.ID, dup: true, e: e}, nil
	}
	t.Context = bind
	t.OnResult = func(r actors.Result) {
		res := resultProto(e.id, r)
		s.tasks.finish(e, res)
		if notify != nil {
			notify(res)
		}
	}
	f, err := s.node.TrySubmit(t)
	s.tasks.settle(e, f, err)
	if err != nil {
		return accepted{}, err
	}
	return accepted{id: t.ID, e: e}, nil
}

// boundWait returns the wait asked for, within the server's bound.
func (s *Server) boundWait(d time.Duration) time.Duration {
	return min(max(d, 0), s.o.maxWait)
}

// waitEntry waits up to d for e's result, or until ctx ends, and returns
// it or nil.
func (s *Server) waitEntry(ctx context.Context, e *entry, d time.Duration) *protos.TaskResult {
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-e.done:
		case <-t.C:
		case <-ctx.Done():
		case <-s.stopping:
		}
	}
	_, res, _ := s.tasks.state(e)
	return res
}

// Submit implements protos.TaskServiceServer.
func (s *Server) Submit(ctx context.Context, req *protos.SubmitRequest) (*protos.SubmitResponse, error) {
	if d, ok := allow(ctx); !ok {
		return nil, rateError(d)
	}
	if req.GetTask() == nil {
		return nil, s.grpcError(fmt.Errorf("%w: task is missing", actors.ErrInvalidTask))
	}
	a, err := s.submitKept(req.GetTask(), nil, nil)
	if err != nil {
		return nil, s.grpcError(err)
	}
	resp := &protos.SubmitResponse{Id: a.id, Duplicate: a.dup, Node: s.nodeName}
	resp.Result = s.waitEntry(ctx, a.e, s.boundWait(req.GetWait().AsDuration()))
	return resp, nil
}

// Cancel implements protos.TaskServiceServer.
func (s *Server) Cancel(_ context.Context, req *protos.CancelRequest) (*protos.CancelResponse, error) {
	e, ok := s.tasks.get(req.GetId())
	if !ok {
		return nil, status.Errorf(codes.NotFound, "api: no task %q (unknown, or its result is no longer kept)", req.GetId())
	}
	f, _, _ := s.tasks.state(e)
	return &protos.CancelResponse{Canceled: f != nil && f.Cancel()}, nil
}

// Result implements protos.TaskServiceServer.
func (s *Server) Result(ctx context.Context, req *protos.ResultRequest) (*protos.TaskStatus, error) {
	e, ok := s.tasks.get(req.GetId())
	if !ok {
		return nil, status.Errorf(codes.NotFound, "api: no task %q (unknown, or its result is no longer kept)", req.GetId())
	}
	res := s.waitEntry(ctx, e, s.boundWait(req.GetWait().AsDuration()))
	return &protos.TaskStatus{Id: e.id, Done: res != nil, Result: res, Node: s.nodeName}, nil
}

// watchBuffer bounds the events waiting for one watcher.
const watchBuffer = 256

// Watch implements protos.TaskServiceServer.
func (s *Server) Watch(_ *protos.WatchRequest, ws protos.TaskService_WatchServer) error {
	type item struct {
		e       supervision.Event
		dropped uint64
	}
	ch := make(chan item, watchBuffer)
	var dropped uint64 // owned by the publisher's goroutine(s), under the stream's lock
	var mu = make(chan struct{}, 1)
	sub := s.node.System().EventStream.Subscribe(func(evt any) {
		e, ok := evt.(supervision.Event)
		if !ok {
			return
		}
		mu <- struct{}{}
		select {
		case ch <- item{e: e, dropped: dropped}:
			dropped = 0
		default:
			dropped++
		}
		<-mu
	})
	defer s.node.System().EventStream.Unsubscribe(sub)
	// The header tells the watcher it is subscribed.
	if err := ws.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	ctx := ws.Context()
	for {
		select {
		case it := <-ch:
			err := ws.Send(&protos.NodeEvent{Kind: it.e.Kind().String(), At: timestamppb.New(it.e.Time()), Text: it.e.String(), Dropped: it.dropped})
			if err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		case <-s.stopping:
			return s.grpcError(errStopping)
		case <-s.node.Done():
			return s.grpcError(errNodeStopped)
		}
	}
}

// resultProto is actors.ResultProto with valid UTF-8 in its strings: a
// handler's error may carry any bytes, and proto3 refuses to encode a
// string that is not UTF-8 (a gRPC stream would end on it).
func resultProto(id string, r actors.Result) *protos.TaskResult {
	res := actors.ResultProto(id, r)
	if te := res.GetError(); te != nil {
		te.Message = strings.ToValidUTF8(te.Message, "\uFFFD")
		te.Stack = strings.ToValidUTF8(te.Stack, "\uFFFD")
	}
	res.Worker = strings.ToValidUTF8(res.Worker, "\uFFFD")
	return res
}
