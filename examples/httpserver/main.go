// Command httpserver shows an HTTP server whose handlers run their work on
// a Drover pool, with backpressure.
//
// Each request to /hash becomes a task on a CPU pool with a bounded queue.
// The handler offers it with TrySubmit: when the queue is full the server
// answers 503 Service Unavailable with a Retry-After header at once,
// instead of piling up goroutines and memory, and the client comes back
// later. An accepted task is waited for with the request's context; a task
// that outlives its timeout answers 504.
//
//	go run ./examples/httpserver -addr localhost:8080 -workers 2 -queue 16
//	curl 'http://localhost:8080/hash?input=hello&rounds=100000'
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/drover-go/drover/actors"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "httpserver:", err)
		os.Exit(1)
	}
}

// Limits of a request.
const (
	maxRounds  = 10_000_000
	maxInput   = 1 << 16
	retryAfter = "1" // seconds, in the Retry-After header of a 503
)

// options configure the server; the zero value of a field means its flag's
// default.
type options struct {
	workers     int           // CPU workers; 0 means GOMAXPROCS
	queue       int           // queued requests at most; 0 means 64
	taskTimeout time.Duration // per request; 0 means 10s
}

// newNode starts the node that runs the requests' work: one CPU pool,
// "work", whose queue bounds the requests waiting for a worker.
func newNode(o options) (*actors.Node, error) {
	if o.queue == 0 {
		o.queue = 64
	}
	if o.taskTimeout == 0 {
		o.taskTimeout = 10 * time.Second
	}
	return actors.NewNode(actors.WithPool(actors.PoolConfig{
		Name:          "work",
		Kind:          actors.KindCPU,
		Workers:       o.workers,
		QueueCapacity: o.queue,
		TaskTimeout:   o.taskTimeout,
	}))
}

// newHandler returns the server's routes, running work on node's "work"
// pool. It is safe for concurrent use, as http.Server requires.
func newHandler(node *actors.Node) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hash", func(w http.ResponseWriter, r *http.Request) {
		input := r.URL.Query().Get("input")
		rounds, err := strconv.Atoi(r.URL.Query().Get("rounds"))
		if err != nil || rounds < 1 || rounds > maxRounds || len(input) > maxInput {
			http.Error(w, fmt.Sprintf("want input (at most %d bytes) and rounds (1 to %d)", maxInput, maxRounds), http.StatusBadRequest)
			return
		}
		reqCtx := r.Context()
		// Task.Context binds the task to the request: a client that leaves
		// cancels the task, queued or running.
		f, err := node.TrySubmit(actors.Task{Pool: "work", Context: reqCtx, Func: func(ctx context.Context) (any, error) {
			return hashRounds(ctx, input, rounds)
		}})
		switch {
		case errors.Is(err, actors.ErrQueueFull), errors.Is(err, actors.ErrShuttingDown):
			// Backpressure: refuse now, and say when to come back.
			w.Header().Set("Retry-After", retryAfter)
			http.Error(w, "busy, retry later", http.StatusServiceUnavailable)
			return
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		res, err := f.Wait(reqCtx)
		switch {
		case reqCtx.Err() != nil:
			return // the client has gone; the task sees its context end
		case errors.Is(err, actors.ErrTimeout):
			http.Error(w, "took too long", http.StatusGatewayTimeout)
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		default:
			fmt.Fprintln(w, res.Value)
		}
	})
	return mux
}

// hashRounds applies SHA-256 rounds times to input and returns the hex
// digest: CPU work whose length the request chooses. It stops early when
// ctx ends.
func hashRounds(ctx context.Context, input string, rounds int) (string, error) {
	d := []byte(input)
	for i := range rounds {
		if i%4096 == 0 && ctx.Err() != nil {
			return "", ctx.Err()
		}
		sum := sha256.Sum256(d)
		d = sum[:]
	}
	return hex.EncodeToString(d), nil
}

// run serves until ctx ends, then stops taking connections, lets running
// requests finish and stops the node. It prints the address it listens on
// first, then "stopped" at the end.
func run(ctx context.Context, args []string, out io.Writer) (err error) {
	fs := flag.NewFlagSet("httpserver", flag.ContinueOnError)
	fs.SetOutput(out)
	addr := fs.String("addr", "localhost:8080", "address to listen on (port 0 picks one)")
	var o options
	fs.IntVar(&o.workers, "workers", 0, "CPU workers (0: GOMAXPROCS)")
	fs.IntVar(&o.queue, "queue", 64, "requests queued for a worker at most; more get 503")
	fs.DurationVar(&o.taskTimeout, "timeout", 10*time.Second, "time a request's work may take; longer gets 504")
	if err := fs.Parse(args); err != nil {
		return err
	}

	node, err := newNode(o)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, serr := node.Shutdown(sctx)
		err = errors.Join(err, serr)
	}()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: newHandler(node), ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(out, "listening on http://%s\n", ln.Addr())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err = <-served: // the listener failed
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = srv.Shutdown(sctx)
		if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
	}
	fmt.Fprintln(out, "stopped")
	return err
}
