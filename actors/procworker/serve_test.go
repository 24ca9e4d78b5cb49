package procworker_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/drover-go/drover/actors/procworker"
	"github.com/drover-go/drover/protos"
)

// node plays the parent's side of ServeIO over in-memory pipes.
type node struct {
	t      *testing.T
	in     *io.PipeWriter // the child's stdin
	out    *io.PipeReader // the child's stdout
	r      *procworker.FrameReader
	w      *procworker.FrameWriter
	served chan error // ServeIO's return
}

func serve(t *testing.T, ctx context.Context, handlers map[string]procworker.Handler, opts ...procworker.Option) *node {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	n := &node{t: t, in: inW, out: outR, r: procworker.NewFrameReader(outR, 0), w: procworker.NewFrameWriter(inW, 0), served: make(chan error, 1)}
	go func() {
		err := procworker.ServeIO(ctx, inR, outW, handlers, opts...)
		_ = outW.Close()
		n.served <- err
	}()
	t.Cleanup(func() {
		_ = inW.Close() // ends a read that outlived ServeIO
		_ = outR.Close()
	})
	return n
}

func (n *node) send(fs ...*protos.Frame) {
	n.t.Helper()
	for _, f := range fs {
		require.NoError(n.t, n.w.WriteFrame(f))
	}
	require.NoError(n.t, n.w.Flush())
}

func (n *node) recv() *protos.Frame {
	n.t.Helper()
	var f protos.Frame
	require.NoError(n.t, n.r.ReadFrame(&f))
	return &f
}

// handshake sends hello and checks ready.
func (n *node) handshake() *protos.Ready {
	n.t.Helper()
	n.send(&protos.Frame{Body: &protos.Frame_Hello{Hello: &protos.Hello{Version: procworker.ProtocolVersion, Worker: "p/w0", KillGrace: durationpb.New(time.Second)}}})
	r := n.recv().GetReady()
	require.NotNil(n.t, r)
	require.Equal(n.t, uint32(procworker.ProtocolVersion), r.GetVersion())
	return r
}

// results reads k result frames, by task id.
func (n *node) results(k int) map[string]*protos.Frame {
	n.t.Helper()
	got := map[string]*protos.Frame{}
	for range k {
		f := n.recv()
		require.NotNil(n.t, f.GetResult(), "got a %s frame", procworker.FrameKind(f))
		got[f.GetResult().GetTaskId()] = f
	}
	return got
}

func (n *node) wait() error {
	n.t.Helper()
	select {
	case err := <-n.served:
		return err
	case <-time.After(10 * time.Second):
		n.t.Fatal("ServeIO did not return within 10s")
		return nil
	}
}

func shutdownFrame() *protos.Frame {
	return &protos.Frame{Body: &protos.Frame_Shutdown{Shutdown: &protos.Shutdown{}}}
}

func cancelFrame(id string) *protos.Frame {
	return &protos.Frame{Body: &protos.Frame_Cancel{Cancel: &protos.Cancel{TaskId: id}}}
}

var testHandlers = map[string]procworker.Handler{
	"echo": func(_ context.Context, p []byte) ([]byte, error) { return p, nil },
	"fail": func(_ context.Context, p []byte) ([]byte, error) { return nil, fmt.Errorf("failed: %s", p) },
	"panic": func(_ context.Context, p []byte) ([]byte, error) {
		panic(string(p))
	},
	"wait": func(ctx context.Context, _ []byte) ([]byte, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	},
	"spin": func(context.Context, []byte) ([]byte, error) {
		x := 0
		for end := time.Now().Add(20 * time.Millisecond); time.Now().Before(end); {
			x++
		}
		return []byte{byte(x)}, nil
	},
}

func TestServeRunsTasks(t *testing.T) {
	n := serve(t, context.Background(), testHandlers)
	ready := n.handshake()
	assert.Equal(t, []string{"echo", "fail", "panic", "spin", "wait"}, ready.GetTypes())

	n.send(taskFrame("1", "echo", []byte("hi")),
		taskFrame("2", "fail", []byte("x")),
		taskFrame("3", "panic", []byte("kaboom")),
		taskFrame("4", "nope", nil),
		taskFrame("5", "spin", nil))
	got := n.results(5)
	n.send(taskFrame("6", "echo", []byte("still serving")))
	got["6"] = n.results(1)["6"]

	type want struct {
		out  string
		code protos.ErrorCode
		msg  string
	}
	cases := map[string]want{
		"1": {out: "hi"},
		"2": {code: protos.ErrorCode_ERROR_CODE_HANDLER, msg: "failed: x"},
		"3": {code: protos.ErrorCode_ERROR_CODE_PANIC, msg: "kaboom"},
		"4": {code: protos.ErrorCode_ERROR_CODE_NO_HANDLER, msg: `procworker: no handler for task type "nope"`},
		"6": {out: "still serving"},
	}
	for id, w := range cases {
		t.Run("task "+id, func(t *testing.T) {
			r := got[id].GetResult()
			require.NotNil(t, r)
			assert.Equal(t, w.out, string(r.GetOutput()))
			assert.Equal(t, w.code, r.GetError().GetCode())
			assert.Equal(t, w.msg, r.GetError().GetMessage())
		})
	}
	assert.Contains(t, got["3"].GetResult().GetError().GetStack(), "serve_test.go", "the stack shows the panic")
	if runtime.GOOS == "linux" {
		cpu := got["5"].GetCpu().AsDuration()
		assert.Greater(t, cpu, 5*time.Millisecond, "a 20ms spin uses CPU")
		assert.Less(t, cpu, 5*time.Second)
	}

	n.send(shutdownFrame())
	require.NoError(t, n.wait())
}

func TestServeCancelAndTimeout(t *testing.T) {
	n := serve(t, context.Background(), testHandlers)
	n.handshake()
	timed := taskFrame("t", "wait", nil)
	timed.GetTask().Timeout = durationpb.New(time.Millisecond)
	n.send(taskFrame("c", "wait", nil), cancelFrame("unknown"), cancelFrame("c"), timed)
	got := n.results(2)
	assert.Equal(t, protos.ErrorCode_ERROR_CODE_CANCELED, got["c"].GetResult().GetError().GetCode())
	assert.Equal(t, "context canceled", got["c"].GetResult().GetError().GetMessage())
	assert.Equal(t, protos.ErrorCode_ERROR_CODE_TIMEOUT, got["t"].GetResult().GetError().GetCode())

	n.send(&protos.Frame{Body: &protos.Frame_Ping{Ping: &protos.HealthPing{Seq: 42}}})
	pong := n.recv().GetPong()
	require.NotNil(t, pong)
	assert.Equal(t, uint64(42), pong.GetSeq())
	assert.Equal(t, "p/w0", pong.GetWorker())
	assert.Contains(t, []protos.WorkerState{protos.WorkerState_WORKER_STATE_IDLE, protos.WorkerState_WORKER_STATE_BUSY}, pong.GetState())

	n.send(shutdownFrame())
	require.NoError(t, n.wait())
}

func TestServeShutdownLetsTasksFinish(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	n := serve(t, context.Background(), map[string]procworker.Handler{
		"gate": func(ctx context.Context, p []byte) ([]byte, error) {
			close(started)
			<-release
			return p, ctx.Err()
		},
	})
	n.handshake()
	n.send(taskFrame("1", "gate", []byte("done")))
	<-started
	n.send(shutdownFrame())
	close(release)
	r := n.results(1)["1"].GetResult()
	assert.Equal(t, "done", string(r.GetOutput()))
	assert.Nil(t, r.GetError(), "shutdown does not cancel running tasks")
	require.NoError(t, n.wait())
}

func TestServeStdinClosedCancelsTasks(t *testing.T) {
	started := make(chan struct{})
	n := serve(t, context.Background(), map[string]procworker.Handler{
		"wait": func(ctx context.Context, _ []byte) ([]byte, error) {
			close(started)
			<-ctx.Done()
			return nil, ctx.Err()
		},
	})
	n.handshake()
	n.send(taskFrame("1", "wait", nil))
	<-started
	require.NoError(t, n.in.Close())
	assert.Equal(t, protos.ErrorCode_ERROR_CODE_CANCELED, n.results(1)["1"].GetResult().GetError().GetCode())
	require.NoError(t, n.wait())
}

func TestServeContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	n := serve(t, ctx, map[string]procworker.Handler{
		"wait": func(ctx context.Context, _ []byte) ([]byte, error) {
			close(started)
			<-ctx.Done()
			return nil, ctx.Err()
		},
	})
	n.handshake()
	n.send(taskFrame("1", "wait", nil))
	<-started
	cancel()
	assert.Equal(t, protos.ErrorCode_ERROR_CODE_CANCELED, n.results(1)["1"].GetResult().GetError().GetCode())
	require.ErrorIs(t, n.wait(), context.Canceled)
}

func TestServeProtocolErrors(t *testing.T) {
	hello := func(v uint32) *protos.Frame {
		return &protos.Frame{Body: &protos.Frame_Hello{Hello: &protos.Hello{Version: v}}}
	}
	cases := []struct {
		name   string
		frames []*protos.Frame
		raw    []byte // written after frames
		ready  bool   // a ready frame comes first
		want   error
		msg    string
	}{
		{name: "task before hello", frames: []*protos.Frame{taskFrame("1", "echo", nil)}, want: procworker.ErrProtocol, msg: "first frame is task; want hello"},
		{name: "other version", frames: []*protos.Frame{hello(2)}, ready: true, want: procworker.ErrProtocol, msg: "parent speaks protocol version 2; this worker speaks 1"},
		{name: "result from the parent", frames: []*protos.Frame{hello(1), {Body: &protos.Frame_Result{Result: &protos.TaskResult{}}}}, ready: true, want: procworker.ErrProtocol, msg: "unexpected result frame"},
		{name: "empty frame", frames: []*protos.Frame{hello(1), {}}, ready: true, want: procworker.ErrProtocol, msg: "unexpected an empty frame"},
		{name: "garbage", frames: []*protos.Frame{hello(1)}, raw: []byte{0x03, 0xff, 0xff, 0xff}, ready: true, want: procworker.ErrCorruptFrame},
		{name: "closed before hello", want: procworker.ErrProtocol, msg: "stream closed before hello"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := serve(t, context.Background(), testHandlers)
			go func() {
				for _, f := range c.frames {
					_ = n.w.WriteFrame(f)
				}
				_ = n.w.Flush()
				_, _ = n.in.Write(c.raw)
				_ = n.in.Close()
			}()
			if c.ready {
				require.NotNil(t, n.recv().GetReady())
			}
			err := n.wait()
			require.ErrorIs(t, err, c.want)
			assert.Contains(t, err.Error(), c.msg)
		})
	}
}

func TestServeDuplicateTaskID(t *testing.T) {
	n := serve(t, context.Background(), testHandlers)
	n.handshake()
	n.send(taskFrame("1", "wait", nil), taskFrame("1", "wait", nil))
	// The first task is canceled as the server stops.
	assert.Equal(t, protos.ErrorCode_ERROR_CODE_CANCELED, n.results(1)["1"].GetResult().GetError().GetCode())
	err := n.wait()
	require.ErrorIs(t, err, procworker.ErrProtocol)
	assert.Contains(t, err.Error(), `task id "1" is already running`)
}

func TestWithoutCPUTime(t *testing.T) {
	n := serve(t, context.Background(), testHandlers, procworker.WithoutCPUTime())
	n.handshake()
	n.send(taskFrame("1", "echo", nil))
	assert.Nil(t, n.results(1)["1"].GetCpu())
	n.send(shutdownFrame())
	require.NoError(t, n.wait())
}
