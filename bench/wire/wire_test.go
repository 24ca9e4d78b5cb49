package wire

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/api"
	"github.com/drover-go/drover/actors/client"
	"github.com/drover-go/drover/protos"
)

const (
	inFlight   = 1000
	streamMsgs = 50000 // per iteration and contender
	httpReqs   = 5000
	httpConns  = 8
)

var payload = []byte("0123456789abcdef0123456789abcdef") // 32 bytes

// echoNode is a node with an echo handler on GOMAXPROCS cpu workers,
// serving its task API on loopback.
func echoNode(b *testing.B) (*actors.Node, *api.Server) {
	b.Helper()
	n, err := actors.NewNode(actors.WithPool(actors.PoolConfig{Name: "echo", QueueCapacity: 4 * inFlight}),
		actors.WithHandler("echo", func(_ context.Context, p []byte) ([]byte, error) { return p, nil }))
	if err != nil {
		b.Fatal(err)
	}
	s, err := api.Listen("127.0.0.1:0", n)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_, _ = n.Shutdown(context.Background())
		_ = s.Shutdown(context.Background())
	})
	return n, s
}

// pipeline runs total requests from one goroutine with at most inFlight
// outstanding: issue sends one and returns the wait for its reply.
func pipeline(b *testing.B, total int, issue func() func() error) time.Duration {
	b.Helper()
	waits := make(chan func() error, inFlight)
	errs := make(chan error, 1)
	start := time.Now()
	go func() {
		defer close(waits)
		for range total {
			waits <- issue()
		}
	}()
	var first error
	for w := range waits {
		if err := w(); err != nil && first == nil {
			first = err
		}
	}
	el := time.Since(start)
	select {
	case err := <-errs:
		first = err
	default:
	}
	if first != nil {
		b.Fatal(first)
	}
	return el
}

// echoActor answers a TaskEnvelope with a TaskResult carrying its payload.
type echoActor struct{}

func (echoActor) Receive(c actor.Context) {
	if env, ok := c.Message().(*protos.TaskEnvelope); ok {
		c.Respond(&protos.TaskResult{TaskId: env.GetId(), Output: env.GetPayload()})
	}
}

// waitEcho waits for an echo task's result and checks it gave the payload
// back.
func waitEcho(f *actors.Future) error {
	r, err := f.Wait(context.Background())
	if err == nil && !bytes.Equal(r.Output, payload) {
		err = fmt.Errorf("echo returned %q", r.Output)
	}
	return err
}

func BenchmarkStream(b *testing.B) {
	_, s := echoNode(b)
	c, err := client.Dial(s.Addr().String(), client.WithWindow(inFlight))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = c.Close(context.Background()) }()

	// protoactor: two actor systems, each with its remote on loopback.
	quiet := actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) })
	server := actor.NewActorSystem(quiet)
	rs := remote.NewRemote(server, remote.Configure("127.0.0.1", 0))
	rs.Start()
	defer rs.Shutdown(false)
	echo, err := server.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return echoActor{} }), "echo")
	if err != nil {
		b.Fatal(err)
	}
	caller := actor.NewActorSystem(quiet)
	rc := remote.NewRemote(caller, remote.Configure("127.0.0.1", 0))
	rc.Start()
	defer rc.Shutdown(false)
	target := actor.NewPID(server.Address(), echo.Id)

	// Drover: inFlight submitters, each submitting and waiting in turn;
	// their tasks share the client's one stream.
	driver := func(total int) time.Duration {
		var wg sync.WaitGroup
		errs := make(chan error, inFlight)
		start := time.Now()
		for w := range inFlight {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < total; i += inFlight {
					f, err := c.Submit(context.Background(), actors.Task{Type: "echo", Payload: payload})
					if err == nil {
						err = waitEcho(f)
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		el := time.Since(start)
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		return el
	}
	proto := func() func() error {
		f := caller.Root.RequestFuture(target, &protos.TaskEnvelope{Type: "echo", Payload: payload}, 30*time.Second)
		return func() error {
			m, err := f.Result()
			if err == nil {
				if r, ok := m.(*protos.TaskResult); !ok || !bytes.Equal(r.GetOutput(), payload) {
					err = fmt.Errorf("protoactor echo returned %v", m)
				}
			}
			return err
		}
	}
	// Drover pipelined as protoactor is (Client.Go): one goroutine issues,
	// another waits on the results in order, inFlight apart.
	drover := func() func() error {
		f, err := c.Go(context.Background(), actors.Task{Type: "echo", Payload: payload})
		return func() error {
			if err != nil {
				return err
			}
			return waitEcho(f)
		}
	}
	// Warm both up (connections, endpoint writers).
	driver(2 * inFlight)
	pipeline(b, 2*inFlight, drover)
	pipeline(b, 2*inFlight, proto)
	b.ResetTimer()
	var dDur, plDur, pDur time.Duration
	for range b.N {
		dDur += driver(streamMsgs)
		plDur += pipeline(b, streamMsgs, drover)
		pDur += pipeline(b, streamMsgs, proto)
	}
	report(b, streamMsgs, plDur, pDur)
	total := float64(streamMsgs * b.N)
	b.ReportMetric(total/dDur.Seconds()/(total/pDur.Seconds()), "x-baseline-1k-goroutines")
}

func BenchmarkHTTP(b *testing.B) {
	_, s := echoNode(b)
	droverURL := "http://" + s.Addr().String() + "/v1/tasks?wait=5s"
	body := []byte(`{"type":"echo","payload":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}`)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	bare := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(in)
	})}
	go func() { _ = bare.Serve(ln) }()
	defer func() { _ = bare.Shutdown(context.Background()) }()
	bareURL := "http://" + ln.Addr().String() + "/echo"

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: httpConns, MaxConnsPerHost: httpConns}}
	defer hc.CloseIdleConnections()
	post := func(url string, want int) error {
		resp, err := hc.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			return fmt.Errorf("POST %s: %s", url, resp.Status)
		}
		return nil
	}
	run := func(url string, want int) time.Duration {
		var wg sync.WaitGroup
		errs := make(chan error, httpConns)
		start := time.Now()
		for w := range httpConns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < httpReqs; i += httpConns {
					if err := post(url, want); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		el := time.Since(start)
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		return el
	}
	run(droverURL, http.StatusOK)
	run(bareURL, http.StatusOK)
	b.ResetTimer()
	var dDur, bDur time.Duration
	for range b.N {
		dDur += run(droverURL, http.StatusOK)
		bDur += run(bareURL, http.StatusOK)
	}
	report(b, httpReqs, dDur, bDur)
}

// report gives both throughputs over b.N rounds of n messages each, and
// their ratio.
func report(b *testing.B, n int, drover, baseline time.Duration) {
	total := float64(n * b.N)
	d, base := total/drover.Seconds(), total/baseline.Seconds()
	b.ReportMetric(d, "drover-msgs/s")
	b.ReportMetric(base, "baseline-msgs/s")
	b.ReportMetric(d/base, "x-baseline")
	b.ReportMetric(0, "ns/op")
}
