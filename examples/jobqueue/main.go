// Command jobqueue shows a background job queue on Drover: jobs with
// priorities (critical, high, normal, low) and retries of transient errors.
//
// Jobs run on a pool of one worker. A long job keeps it busy while the
// others are queued in a mixed order; once it ends, the queued jobs start
// highest priority first, and in submission order within a priority. A
// job whose handler fails with a transient error runs again after a short
// exponential backoff, up to a number of attempts; any other error is final.
//
// The same jobs can be enqueued from another process, through the node's
// task API and the Go client (package actors/client): one process serves
// the job handlers, another enqueues the jobs and follows their results.
//
//	go run ./examples/jobqueue -serve 127.0.0.1:7070   # the node, until Ctrl-C
//	go run ./examples/jobqueue -node 127.0.0.1:7070    # the jobs, from here
//
// The retries are done here, by Queue, around the pool: Queue.Enqueue
// submits the first attempt and a goroutine per job waits for its result
// and resubmits after the backoff. RetryPolicy has the shape of a
// per-task retry option, so that moving the retries into the library means
// setting the option on the Task in Enqueue, marking transient errors with
// the library's marker instead of transient, and letting follow wait once.
//
//	go run ./examples/jobqueue -attempts 3 -backoff 20ms
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/api"
	"github.com/drover-go/drover/actors/client"
	"github.com/drover-go/drover/supervision"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "jobqueue:", err)
		os.Exit(1)
	}
}

// errTransient marks a handler error worth retrying.
var errTransient = errors.New("jobqueue: transient")

// transient marks err as worth retrying.
func transient(err error) error { return fmt.Errorf("%w: %w", errTransient, err) }

// RetryPolicy says how often a job runs at most and how long Queue waits
// between runs.
type RetryPolicy struct {
	// MaxAttempts bounds the runs, the first included; below 2, no retry.
	MaxAttempts int
	// Backoff delays each retry: attempt n (from 0) waits Backoff.Next(n).
	Backoff supervision.Backoff
}

// Job is one background job: a registered task type, a priority and a
// payload. Name is for the report.
type Job struct {
	Name     string
	Type     string
	Priority actors.Priority
	Payload  []byte
}

// Outcome is how a job ended.
type Outcome struct {
	Job      Job
	Attempts int
	Err      error
}

// Submitter is what Queue submits to: an *actors.Node in this process, or
// a *client.Client of a node in another.
type Submitter interface {
	Submit(ctx context.Context, t actors.Task) (*actors.Future, error)
}

// Queue submits jobs to one pool of a node and retries their transient
// failures. Its methods are safe for concurrent use.
type Queue struct {
	node  Submitter
	pool  string
	retry RetryPolicy
	wg    sync.WaitGroup
}

// Handle is an enqueued job: Done closes once Outcome is final.
type Handle struct {
	done    chan struct{}
	outcome Outcome
}

// Done returns a channel closed once the job's outcome is final.
func (h *Handle) Done() <-chan struct{} { return h.done }

// Outcome returns the job's outcome; call it after Done is closed.
func (h *Handle) Outcome() Outcome { return h.outcome }

// Enqueue queues the job's first attempt before it returns, so that jobs
// enqueued one after the other are queued in that order; retries are
// queued later, after their backoff. Ending ctx cancels the job.
func (q *Queue) Enqueue(ctx context.Context, job Job) (*Handle, error) {
	task := actors.Task{Pool: q.pool, Type: job.Type, Priority: job.Priority, Payload: job.Payload}
	f, err := q.node.Submit(ctx, task)
	if err != nil {
		return nil, fmt.Errorf("enqueue %s: %w", job.Name, err)
	}
	h := &Handle{done: make(chan struct{}), outcome: Outcome{Job: job}}
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		defer close(h.done)
		h.outcome.Attempts, h.outcome.Err = q.follow(ctx, task, f)
	}()
	return h, nil
}

// follow waits for a job's result and resubmits it after a backoff while
// it fails with a transient error and attempts remain. It returns the
// number of runs and the final error.
func (q *Queue) follow(ctx context.Context, task actors.Task, f *actors.Future) (int, error) {
	for attempt := 1; ; attempt++ {
		_, err := f.Wait(ctx)
		if err == nil || !isTransient(err) || attempt >= q.retry.MaxAttempts {
			return attempt, err
		}
		delay := time.NewTimer(q.retry.Backoff.Next(attempt-1, rand.Float64()))
		select {
		case <-delay.C:
		case <-ctx.Done():
			delay.Stop()
			return attempt, ctx.Err()
		}
		if f, err = q.node.Submit(ctx, task); err != nil {
			return attempt, err
		}
	}
}

// isTransient reports whether a job's error is worth retrying. Across the
// wire an error keeps only its text and the actors sentinel it wraps, so a
// handler's own marker is found in the text.
func isTransient(err error) bool {
	return errors.Is(err, errTransient) || strings.Contains(err.Error(), errTransient.Error())
}

// Wait waits until every enqueued job's outcome is final.
func (q *Queue) Wait() { q.wg.Wait() }

// starts records the order in which jobs start; safe for concurrent use.
type starts struct {
	mu    sync.Mutex
	names []string
	runs  map[string]int
}

// record notes a run of the job named in payload and returns its number.
func (s *starts) record(payload []byte) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := string(payload)
	s.runs[name]++
	if s.runs[name] == 1 {
		s.names = append(s.names, name)
	}
	return s.runs[name]
}

func (s *starts) first() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.names...)
}

// run starts a node with one pool of one worker, enqueues a long job and
// then a mix of jobs while it runs, and prints the order in which the
// queued jobs first started and every job's outcome.
func run(ctx context.Context, args []string, out io.Writer) (err error) {
	fs := flag.NewFlagSet("jobqueue", flag.ContinueOnError)
	fs.SetOutput(out)
	attempts := fs.Int("attempts", 3, "runs of a job at most, the first included")
	backoff := fs.Duration("backoff", 20*time.Millisecond, "delay before the first retry; doubles after each")
	serve := fs.String("serve", "", "serve the job handlers' node on this task API address until interrupted")
	remote := fs.String("node", "", "enqueue the jobs on the node serving its task API at this address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *attempts < 1 || *backoff < 0 {
		return fmt.Errorf("-attempts must be at least 1 and -backoff at least 0, got %d and %s", *attempts, *backoff)
	}

	retry := RetryPolicy{MaxAttempts: *attempts, Backoff: supervision.Backoff{Initial: *backoff, Jitter: supervision.NoJitter}}
	switch {
	case *serve != "":
		return serveJobs(ctx, *serve, out)
	case *remote != "":
		return enqueueRemote(ctx, *remote, retry, out)
	}

	rec := &starts{runs: map[string]int{}}
	busyStarted := make(chan struct{})
	allQueued := make(chan struct{})
	handlers := map[string]actors.Handler{
		// report is the long job: it holds the only worker until every
		// other job is queued.
		"report": func(ctx context.Context, p []byte) ([]byte, error) {
			rec.record(p)
			close(busyStarted)
			select {
			case <-allQueued:
				return nil, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
	}
	for name, h := range jobHandlers(rec) {
		handlers[name] = h
	}
	opts := []actors.Option{
		// One worker running one job at a time, so that the start order is
		// exactly the priority order. With more workers, priorities still
		// order the queue, and several jobs start at once.
		actors.WithPool(actors.PoolConfig{Name: "jobs", Kind: actors.KindCPU, Workers: 1}),
	}
	for name, h := range handlers {
		opts = append(opts, actors.WithHandler(name, h))
	}
	node, err := actors.NewNode(opts...)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, serr := node.Shutdown(sctx)
		err = errors.Join(err, serr)
	}()

	q := &Queue{node: node, pool: "jobs", retry: retry}
	defer q.Wait()

	jobs := mixedJobs()

	busy, err := q.Enqueue(ctx, Job{Name: "report-0", Type: "report", Payload: []byte("report-0")})
	if err != nil {
		return err
	}
	select { // the worker is busy from here on
	case <-busyStarted:
	case <-ctx.Done():
		return ctx.Err()
	}
	handles := []*Handle{busy}
	names := make([]string, len(jobs))
	for i, job := range jobs {
		names[i] = job.Name
		job.Payload = []byte(job.Name)
		h, err := q.Enqueue(ctx, job)
		if err != nil {
			close(allQueued)
			return err
		}
		handles = append(handles, h)
	}
	close(allQueued) // the long job ends: the queued jobs start

	for _, h := range handles {
		select {
		case <-h.Done():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	fmt.Fprintf(out, "queued while report-0 ran: %s\n", strings.Join(names, " "))
	fmt.Fprintf(out, "first runs, in order:      %s\n", strings.Join(rec.first(), " "))
	for _, h := range handles {
		o := h.Outcome()
		status := "done"
		if o.Err != nil {
			status = "failed: " + o.Err.Error()
		}
		fmt.Fprintf(out, "%-9s %-8s attempts=%d %s\n", o.Job.Name, o.Job.Priority, o.Attempts, status)
	}
	return nil
}

// jobHandlers returns the handlers of the mixed jobs, which record their
// runs in rec.
func jobHandlers(rec *starts) map[string]actors.Handler {
	return map[string]actors.Handler{
		"alert":   succeed(rec),
		"invoice": succeed(rec),
		"email":   succeed(rec),
		"cleanup": succeed(rec),
		// sync fails twice with a transient error, then succeeds.
		"sync": func(_ context.Context, p []byte) ([]byte, error) {
			if rec.record(p) <= 2 {
				return nil, transient(errors.New("upstream busy"))
			}
			return nil, nil
		},
		// export always fails with a transient error: it uses up its attempts.
		"export": func(_ context.Context, p []byte) ([]byte, error) {
			rec.record(p)
			return nil, transient(errors.New("disk full"))
		},
		// import fails for good: bad input is not worth retrying.
		"import": func(_ context.Context, p []byte) ([]byte, error) {
			rec.record(p)
			return nil, errors.New("bad input")
		},
	}
}

// mixedJobs are the jobs queued behind the long one, in submission order.
func mixedJobs() []Job {
	return []Job{
		{Name: "cleanup-1", Type: "cleanup", Priority: actors.PriorityLow},
		{Name: "email-1", Type: "email", Priority: actors.PriorityNormal},
		{Name: "invoice-1", Type: "invoice", Priority: actors.PriorityHigh},
		{Name: "alert-1", Type: "alert", Priority: actors.PriorityCritical},
		{Name: "sync-1", Type: "sync", Priority: actors.PriorityNormal},
		{Name: "cleanup-2", Type: "cleanup", Priority: actors.PriorityLow},
		{Name: "export-1", Type: "export", Priority: actors.PriorityHigh},
		{Name: "alert-2", Type: "alert", Priority: actors.PriorityCritical},
		{Name: "import-1", Type: "import", Priority: actors.PriorityNormal},
	}
}

// serveJobs runs a node with the jobs' handlers and serves its task API
// on addr until ctx ends, then drains it.
func serveJobs(ctx context.Context, addr string, out io.Writer) (err error) {
	opts := []actors.Option{actors.WithPool(actors.PoolConfig{Name: "jobs", Kind: actors.KindCPU, Workers: 1})}
	for name, h := range jobHandlers(&starts{runs: map[string]int{}}) {
		opts = append(opts, actors.WithHandler(name, h))
	}
	node, err := actors.NewNode(opts...)
	if err != nil {
		return err
	}
	srv, err := api.Listen(addr, node)
	if err != nil {
		_, _ = node.Shutdown(context.Background())
		return err
	}
	fmt.Fprintf(out, "serving jobs on %s\n", srv.Addr())
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = node.Shutdown(sctx)
	return errors.Join(err, srv.Shutdown(sctx))
}

// enqueueRemote enqueues the mixed jobs on the node at addr through the Go
// client, retrying transient failures as Queue does in process, and
// prints every job's outcome.
func enqueueRemote(ctx context.Context, addr string, retry RetryPolicy, out io.Writer) (err error) {
	c, err := client.Dial(addr)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.Close(context.Background())) }()
	q := &Queue{node: c, pool: "jobs", retry: retry}
	defer q.Wait()
	var handles []*Handle
	for _, job := range mixedJobs() {
		job.Payload = []byte(job.Name)
		h, err := q.Enqueue(ctx, job)
		if err != nil {
			return err
		}
		handles = append(handles, h)
	}
	for _, h := range handles {
		select {
		case <-h.Done():
		case <-ctx.Done():
			return ctx.Err()
		}
		o := h.Outcome()
		status := "done"
		if o.Err != nil {
			status = "failed: " + o.Err.Error()
		}
		fmt.Fprintf(out, "%-9s %-8s attempts=%d %s\n", o.Job.Name, o.Job.Priority, o.Attempts, status)
	}
	return nil
}

// succeed is the handler of jobs that always succeed.
func succeed(rec *starts) actors.Handler {
	return func(_ context.Context, p []byte) ([]byte, error) {
		rec.record(p)
		return nil, nil
	}
}
