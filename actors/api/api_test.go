package api_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/api"
	"github.com/drover-go/drover/actors/client"
	"github.com/drover-go/drover/protos"
)

func TestClientEveryTaskGetsOneResult(t *testing.T) {
	fx := newFixture(t, actors.PoolConfig{Name: "p", Workers: 2, QueueCapacity: 4096}, api.WithWindow(64))
	c := fx.dial(t, client.WithWindow(256))
	const n = 2000
	futures := make([]*actors.Future, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				f, err := c.Submit(context.Background(), actors.Task{Type: "echo", Payload: []byte(strconv.Itoa(i))})
				if err != nil {
					errs <- err
					return
				}
				futures[i] = f
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for i, f := range futures {
		r, err := f.Wait(context.Background())
		require.NoError(t, err)
		assert.Equal(t, strconv.Itoa(i), string(r.Output))
		assert.Equal(t, "api-test", r.Node)
	}
	st := fx.node.Stats().Pools[0]
	assert.EqualValues(t, n, st.Submitted)
	assert.EqualValues(t, n, st.Completed)
}

func TestHTTPSubmitWaitGetCancel(t *testing.T) {
	fx := newFixture(t, actors.PoolConfig{Name: "p", Workers: 1, QueueCapacity: 16})
	base := "http://" + fx.addr + "/v1/tasks"

	code, _, body := httpDo(t, nil, "POST", base+"?wait=5s", "", []byte(`{"type":"echo","payload":"`+base64.StdEncoding.EncodeToString([]byte("hi"))+`"}`))
	require.Equal(t, http.StatusOK, code, "%v", body)
	res := body["result"].(map[string]any)
	assert.Equal(t, base64.StdEncoding.EncodeToString([]byte("hi")), res["output"])
	assert.NotEmpty(t, body["id"])

	code, _, body = httpDo(t, nil, "POST", base, "", []byte(`{"id":"b1","type":"block"}`))
	require.Equal(t, http.StatusAccepted, code, "%v", body)
	assert.Equal(t, "b1", body["id"])
	fx.waitStarted(t, 1)

	code, _, body = httpDo(t, nil, "GET", base+"/b1", "", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Nil(t, body["done"])

	code, _, body = httpDo(t, nil, "DELETE", base+"/b1", "", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, true, body["canceled"])

	code, _, body = httpDo(t, nil, "GET", base+"/b1?wait=5s", "", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, true, body["done"])
	assert.Equal(t, "ERROR_CODE_CANCELED", body["result"].(map[string]any)["error"].(map[string]any)["code"])

	code, _, body = httpDo(t, nil, "GET", base+"/nope", "", nil)
	assert.Equal(t, http.StatusNotFound, code)
	assert.Equal(t, "NOT_FOUND", body["error"].(map[string]any)["code"])
}

func TestHTTPBadTasksNameTheField(t *testing.T) {
	fx := newFixture(t, actors.PoolConfig{Name: "p", Workers: 1})
	base := "http://" + fx.addr + "/v1/tasks"
	cases := []struct {
		name, body, code, mentions string
	}{
		{"no type", `{}`, "INVALID_TASK", "Type"},
		{"bad priority", `{"type":"echo","priority":9}`, "INVALID_TASK", "critical, high, normal, low"},
		{"no handler", `{"type":"nope"}`, "NO_HANDLER", "nope"},
		{"no pool", `{"type":"echo","pool":"gpu"}`, "NO_POOL", "gpu"},
		{"not json", `{"type":`, "INVALID_TASK", "JSON"},
		{"unknown field", `{"type":"echo","colour":"red"}`, "INVALID_TASK", "colour"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := httpDo(t, nil, "POST", base, "", []byte(tc.body))
			assert.Equal(t, http.StatusBadRequest, code)
			e := body["error"].(map[string]any)
			assert.Equal(t, tc.code, e["code"])
			assert.Contains(t, e["message"], tc.mentions)
		})
	}
	code, _, _ := httpDo(t, nil, "POST", base+"?wait=soon", "", []byte(`{"type":"echo"}`))
	assert.Equal(t, http.StatusBadRequest, code)
}

func TestQueueFullIsRetryableOverTheWire(t *testing.T) {
	fx := newFixture(t, actors.PoolConfig{Name: "p", Workers: 1, QueueCapacity: 1}, api.WithRetryAfter(1500*time.Millisecond))
	c := fx.dial(t)
	running, err := c.Submit(context.Background(), actors.Task{Type: "block"})
	require.NoError(t, err)
	fx.waitStarted(t, 1)
	queued, err := c.Submit(context.Background(), actors.Task{Type: "block"})
	require.NoError(t, err)

	// The Go client: the node's sentinel, and the delay.
	_, err = c.TrySubmit(actors.Task{Type: "block"})
	require.ErrorIs(t, err, actors.ErrQueueFull)
	assert.Equal(t, 1500*time.Millisecond, client.RetryAfter(err))

	// Submit waits for room until its context ends.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Submit(ctx, actors.Task{Type: "block"})
	require.ErrorIs(t, err, actors.ErrQueueFull)
	require.ErrorIs(t, err, context.Canceled)

	// HTTP: 429 and Retry-After in whole seconds.
	code, hdr, body := httpDo(t, nil, "POST", "http://"+fx.addr+"/v1/tasks", "", []byte(`{"type":"echo"}`))
	assert.Equal(t, http.StatusTooManyRequests, code)
	assert.Equal(t, "2", hdr.Get("Retry-After"))
	assert.Equal(t, "QUEUE_FULL", body["error"].(map[string]any)["code"])

	// Plain gRPC: RESOURCE_EXHAUSTED with RetryInfo and ErrorInfo.
	conn, err := grpc.Dial(fx.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	_, err = protos.NewTaskServiceClient(conn).Submit(context.Background(), &protos.SubmitRequest{Task: &protos.TaskEnvelope{Type: "echo"}})
	st := status.Convert(err)
	require.Equal(t, codes.ResourceExhausted, st.Code(), "%v", err)
	var retry *errdetails.RetryInfo
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.RetryInfo:
			retry = d
		case *errdetails.ErrorInfo:
			info = d
		}
	}
	require.NotNil(t, retry)
	assert.Equal(t, 1500*time.Millisecond, retry.GetRetryDelay().AsDuration())
	require.NotNil(t, info)
	assert.Equal(t, "QUEUE_FULL", info.GetReason())

	close(fx.release)
	for _, f := range []*actors.Future{running, queued} {
		r, err := f.Wait(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "released", string(r.Output))
	}
}

func TestClientErrorsWrapTheNodeSentinels(t *testing.T) {
	fx := newFixture(t, actors.PoolConfig{Name: "p", Workers: 1})
	c := fx.dial(t)
	cases := []struct {
		name string
		task actors.Task
		want error
	}{
		{"no handler", actors.Task{Type: "nope"}, actors.ErrNoHandler},
		{"no pool", actors.Task{Type: "echo", Pool: "gpu"}, actors.ErrNoPool},
		{"bad priority", actors.Task{Type: "echo", Priority: 7}, actors.ErrInvalidTask},
		{"a closure", actors.Task{Func: func(context.Context) (any, error) { return nil, nil }}, actors.ErrInvalidTask},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Submit(context.Background(), tc.task)
			assert.ErrorIs(t, err, tc.want)
		})
	}
}

func TestIdempotentIDRunsOnce(t *testing.T) {
	fx := newFixture(t, actors.PoolConfig{Name: "p", Workers: 1})
	base := "http://" + fx.addr + "/v1/tasks"
	body := []byte(`{"id":"once","type":"echo","payload":"YQ=="}`)
	code, _, first := httpDo(t, nil, "POST", base+"?wait=5s", "", body)
	require.Equal(t, http.StatusOK, code)
	assert.Nil(t, first["duplicate"])
	code, _, again := httpDo(t, nil, "POST", base+"?wait=5s", "", body)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, true, again["duplicate"])
	assert.Equal(t, first["result"], again["result"])

	c := fx.dial(t)
	f, err := c.Submit(context.Background(), actors.Task{ID: "once", Type: "echo", Payload: []byte("a")})
	require.NoError(t, err)
	r, err := f.Wait(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "a", string(r.Output))
	assert.EqualValues(t, 1, fx.node.Stats().Pools[0].Submitted, "the task ran once")
	assert.Len(t, fx.runs, 1)

	// Over a stream, tasks with ids of their own run once each.
	for i := 0; i < 3; i++ {
		f, err := c.Submit(context.Background(), actors.Task{ID: fmt.Sprint("s", i), Type: "echo"})
		require.NoError(t, err)
		_, err = f.Wait(context.Background())
		require.NoError(t, err)
	}
	assert.EqualValues(t, 4, fx.node.Stats().Pools[0].Submitted)
}

func TestResultsAreKeptForABoundedCount(t *testing.T) {
	fx := newFixture(t, actors.PoolConfig{Name: "p", Workers: 1}, api.WithRetention(time.Hour, 2))
	c := fx.dial(t)
	for i := 0; i < 3; i++ {
		code, _, _ := httpDo(t, nil, "POST", "http://"+fx.addr+"/v1/tasks?wait=5s", "", []byte(fmt.Sprintf(`{"id":"k%d","type":"echo"}`, i)))
		require.Equal(t, http.StatusOK, code)
	}
	_, _, err := c.Result(context.Background(), "k0", 0)
	assert.ErrorIs(t, err, client.ErrNotFound)
	for _, id := range []string{"k1", "k2"} {
		_, done, err := c.Result(context.Background(), id, 0)
		require.NoError(t, err)
		assert.True(t, done)
	}
}

func TestShutdownMidStreamDrainsAndFailsTheRest(t *testing.T) {
	fx := newFixture(t, actors.PoolConfig{Name: "p", Workers: 1, QueueCapacity: 64})
	c := fx.dial(t)
	var futures []*actors.Future
	for i := 0; i < 10; i++ {
		f, err := c.Submit(context.Background(), actors.Task{Type: "block"})
		require.NoError(t, err)
		futures = append(futures, f)
	}
	fx.waitStarted(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no time to drain: what is left fails with shutting down
	_, err := fx.node.Shutdown(ctx)
	require.Error(t, err)
	for _, f := range futures {
		_, err := f.Wait(context.Background())
		assert.ErrorIs(t, err, actors.ErrShuttingDown)
	}
	// New tasks are refused while the server still runs.
	_, err = c.Submit(context.Background(), actors.Task{Type: "echo"})
	assert.ErrorIs(t, err, actors.ErrShuttingDown)
	code, _, body := httpDo(t, nil, "POST", "http://"+fx.addr+"/v1/tasks", "", []byte(`{"type":"echo"}`))
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "SHUTTING_DOWN", body["error"].(map[string]any)["code"])
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	require.NoError(t, fx.srv.Shutdown(sctx))
}

func TestLostStreamCancelsItsTasks(t *testing.T) {
	fx := newFixture(t, actors.PoolConfig{Name: "p", Kind: actors.KindIO, Workers: 1, Concurrency: 8})
	c, err := client.Dial(fx.addr)
	require.NoError(t, err)
	var futures []*actors.Future
	for i := 0; i < 8; i++ {
		f, err := c.Submit(context.Background(), actors.Task{Type: "block"})
		require.NoError(t, err)
		futures = append(futures, f)
	}
	fx.waitStarted(t, 8)
	// Close with no time to drain: the stream is cut.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, c.Close(ctx), context.Canceled)
	for _, f := range futures {
		_, err := f.Wait(context.Background())
		assert.ErrorIs(t, err, actors.ErrCanceled)
		assert.ErrorIs(t, err, client.ErrConnection)
	}
	// On the node, every handler sees its context end: none is left running.
	timeout := time.After(10 * time.Second)
	for i := 0; i < 8; i++ {
		select {
		case <-fx.ended:
		case <-timeout:
			t.Fatalf("%d of 8 handlers of the lost stream saw their context end", i)
		}
	}
}

func TestStreamWindowBoundsTheNodesTasks(t *testing.T) {
	const window = 4
	fx := newFixture(t, actors.PoolConfig{Name: "p", Kind: actors.KindIO, Workers: 1, Concurrency: 64, QueueCapacity: 1024}, api.WithWindow(window))
	c := fx.dial(t, client.WithWindow(100))
	futures := make(chan *actors.Future, 20)
	go func() {
		defer close(futures)
		for i := 0; i < 20; i++ {
			f, err := c.Submit(context.Background(), actors.Task{Type: "block"})
			if err != nil {
				return
			}
			futures <- f
		}
	}()
	fx.waitStarted(t, window)
	// The node took window tasks; the others wait on the client's side
	// until results free room.
	assert.EqualValues(t, window, fx.node.Stats().Pools[0].Submitted)
	close(fx.release)
	n := 0
	for f := range futures {
		_, err := f.Wait(context.Background())
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, 20, n)
}

func TestTokenIsRequired(t *testing.T) {
	fx := newFixture(t, actors.PoolConfig{Name: "p", Workers: 1}, api.WithToken("s3cret"))
	url := "http://" + fx.addr + "/v1/tasks?wait=5s"
	for _, tok := range []string{"", "wrong"} {
		code, hdr, body := httpDo(t, nil, "POST", url, tok, []byte(`{"type":"echo"}`))
		assert.Equal(t, http.StatusUnauthorized, code)
		assert.NotEmpty(t, hdr.Get("WWW-Authenticate"))
		assert.Equal(t, "UNAUTHENTICATED", body["error"].(map[string]any)["code"])
	}
	code, _, _ := httpDo(t, nil, "POST", url, "s3cret", []byte(`{"type":"echo"}`))
	assert.Equal(t, http.StatusOK, code)

	for _, opts := range [][]client.Option{nil, {client.WithToken("wrong")}} {
		c := fx.dial(t, opts...)
		_, err := c.Submit(context.Background(), actors.Task{Type: "echo"})
		assert.ErrorIs(t, err, client.ErrUnauthenticated)
	}
	c := fx.dial(t, client.WithToken("s3cret"))
	f, err := c.Submit(context.Background(), actors.Task{Type: "echo"})
	require.NoError(t, err)
	_, err = f.Wait(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 2, fx.node.Stats().Pools[0].Submitted)
}

func TestMutualTLSRefusesAnotherCA(t *testing.T) {
	ca, other := newCA(t, "drover"), newCA(t, "other")
	fx := newFixture(t, actors.PoolConfig{Name: "p", Workers: 1}, api.WithTLS(ca.mtls(t)))

	good := fx.dial(t, client.WithTLS(ca.mtls(t)))
	f, err := good.Submit(context.Background(), actors.Task{Type: "echo", Payload: []byte("x")})
	require.NoError(t, err)
	r, err := f.Wait(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "x", string(r.Output))

	// A client certificate of another CA (trusting the server's).
	stranger := other.mtls(t)
	stranger.RootCAs = ca.pool
	bad := fx.dial(t, client.WithTLS(stranger))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = bad.Submit(ctx, actors.Task{Type: "echo"})
	require.Error(t, err)
	assert.ErrorIs(t, err, client.ErrConnection)

	// HTTP/1.1 over TLS with the right certificate works, without none.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: ca.mtls(t)}}
	defer hc.CloseIdleConnections()
	code, _, _ := httpDo(t, hc, "POST", "https://"+fx.addr+"/v1/tasks?wait=5s", "", []byte(`{"type":"echo"}`))
	assert.Equal(t, http.StatusOK, code)
	noCert := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}}}
	defer noCert.CloseIdleConnections()
	_, err = noCert.Post("https://"+fx.addr+"/v1/tasks", "application/json", nil)
	assert.Error(t, err)
	assert.EqualValues(t, 2, fx.node.Stats().Pools[0].Submitted)
}

func TestNonLoopbackNeedsAuth(t *testing.T) {
	n, err := actors.NewNode()
	require.NoError(t, err)
	defer func() { _, _ = n.Shutdown(context.Background()) }()
	_, err = api.Listen("0.0.0.0:0", n)
	require.ErrorIs(t, err, api.ErrInsecure)
	for _, opt := range []api.Option{api.WithInsecure(), api.WithToken("t")} {
		s, err := api.Listen("0.0.0.0:0", n, opt)
		require.NoError(t, err)
		require.NoError(t, s.Shutdown(context.Background()))
	}
}

func TestRateLimitPerConnection(t *testing.T) {
	fx := newFixture(t, actors.PoolConfig{Name: "p", Workers: 1}, api.WithRateLimit(0.001, 2))
	url := "http://" + fx.addr + "/v1/tasks"
	hc := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	defer hc.CloseIdleConnections()
	for i := 0; i < 2; i++ {
		code, _, _ := httpDo(t, hc, "POST", url, "", []byte(`{"type":"echo"}`))
		// Accepted: 202, or 200 with the result when the task had ended
		// by the time the answer was written.
		assert.Contains(t, []int{http.StatusAccepted, http.StatusOK}, code)
	}
	code, hdr, _ := httpDo(t, hc, "POST", url, "", []byte(`{"type":"echo"}`))
	assert.Equal(t, http.StatusTooManyRequests, code)
	assert.NotEmpty(t, hdr.Get("Retry-After"))
}

func TestRequestSizeIsBounded(t *testing.T) {
	fx := newFixture(t, actors.PoolConfig{Name: "p", Workers: 1}, api.WithMaxRequest(4096))
	big := fmt.Sprintf(`{"type":"echo","payload":"%s"}`, base64.StdEncoding.EncodeToString(make([]byte, 8192)))
	code, _, _ := httpDo(t, nil, "POST", "http://"+fx.addr+"/v1/tasks", "", []byte(big))
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)
	c := fx.dial(t)
	_, err := c.TrySubmit(actors.Task{Type: "echo", Payload: make([]byte, 8192)})
	assert.ErrorIs(t, err, client.ErrConnection)
}

func TestWatchStreamsNodeEvents(t *testing.T) {
	fx := newFixture(t, actors.PoolConfig{Name: "p", Workers: 1})
	conn, err := grpc.Dial(fx.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w, err := protos.NewTaskServiceClient(conn).Watch(ctx, &protos.WatchRequest{})
	require.NoError(t, err)
	_, err = w.Header() // subscribed once the header is out
	require.NoError(t, err)
	require.NoError(t, fx.node.CrashWorker("p", 0))
	for {
		ev, err := w.Recv()
		require.NoError(t, err)
		if ev.GetKind() == "worker-failed" {
			assert.Contains(t, ev.GetText(), "p")
			break
		}
	}
}

func TestMain_errorsAreSentinels(t *testing.T) {
	assert.True(t, errors.Is(fmt.Errorf("x: %w", api.ErrInsecure), api.ErrInsecure))
}

func TestHandlerErrorsWithAnyBytesCrossTheWire(t *testing.T) {
	fx := newFixture(t, actors.PoolConfig{Name: "p", Workers: 1})
	c := fx.dial(t)
	f, err := c.Submit(context.Background(), actors.Task{Type: "fail", Payload: []byte("\xff\xfe")})
	require.NoError(t, err)
	_, err = f.Wait(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "failed on \uFFFD")
	// The stream goes on.
	f, err = c.Submit(context.Background(), actors.Task{Type: "echo", Payload: []byte("ok")})
	require.NoError(t, err)
	r, err := f.Wait(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "ok", string(r.Output))

	code, _, body := httpDo(t, nil, "POST", "http://"+fx.addr+"/v1/tasks?wait=5s", "", []byte(`{"type":"fail","payload":"//4="}`))
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body["result"].(map[string]any)["error"].(map[string]any)["message"], "failed on \uFFFD")
}

func TestShutdownCutsASilentConnection(t *testing.T) {
	fx := newFixture(t, actors.PoolConfig{Name: "p", Workers: 1})
	conn, err := net.Dial("tcp", fx.addr) // sends nothing
	require.NoError(t, err)
	defer conn.Close()
	// A request on another connection makes sure the silent one was accepted.
	code, _, _ := httpDo(t, nil, "POST", "http://"+fx.addr+"/v1/tasks?wait=5s", "", []byte(`{"type":"echo"}`))
	require.Equal(t, http.StatusOK, code)
	done := make(chan error, 1)
	go func() { done <- fx.srv.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(3 * time.Second): // the sniffer's own deadline is 10s
		t.Fatal("Shutdown waits for a connection that never spoke")
	}
}

func TestDetachedStreamLeavesItsTasksRunning(t *testing.T) {
	fx := newFixture(t, actors.PoolConfig{Name: "p", Kind: actors.KindIO, Workers: 1, Concurrency: 4})
	c, err := client.Dial(fx.addr, client.WithDetach())
	require.NoError(t, err)
	f, err := c.Submit(context.Background(), actors.Task{ID: "stays", Type: "block"})
	require.NoError(t, err)
	fx.waitStarted(t, 1)
	cut, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, c.Close(cut), context.Canceled) // the stream is cut
	_, err = f.Wait(context.Background())
	assert.ErrorIs(t, err, client.ErrConnection, "the client's future ends with the stream")

	other := fx.dial(t)
	_, done, err := other.Result(context.Background(), "stays", 0)
	require.NoError(t, err)
	assert.False(t, done, "the task runs on")
	close(fx.release)
	r, done, err := other.Result(context.Background(), "stays", 10*time.Second)
	require.NoError(t, err)
	require.True(t, done)
	assert.NoError(t, r.Err)
	assert.Equal(t, "released", string(r.Output))
}
