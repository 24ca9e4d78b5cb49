package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/client"
	"github.com/drover-go/drover/actors/cluster"
)

// submitOptions are the flags of `drover submit`.
type submitOptions struct {
	Addr      string
	TokenFile string
	CAFile    string
	CertFile  string
	KeyFile   string

	Type     string
	Payload  string
	Priority string
	Pool     string
	Timeout  time.Duration
	Key      string
	ID       string
	Wait     bool
	Window   int
	// ConnectTimeout bounds the wait for the node's stream.
	ConnectTimeout time.Duration
}

func newSubmitCmd() *cobra.Command {
	var o submitOptions
	cmd := &cobra.Command{
		Use:   "submit --addr ADDR (--type TYPE [flags] | < tasks.jsonl)",
		Short: "Submit tasks to a running node through its task API",
		Long: `Submit sends tasks to a node started with 'drover run --api ADDR' (or an api
block in its file).

One task from flags: --type names it, --payload gives its input ("@FILE" reads
a file, "@-" stdin). Without --wait it is queued as a background job: the
command prints {"id": ...} and returns while the node runs it; look it up
with curl http://ADDR/v1/tasks/ID. With --wait it waits for the result and
prints it; Ctrl-C then cancels the task.

Many tasks: without --type, every line of stdin is a task in JSON:

  {"type": "echo", "payload": "text", "id": "a1", "priority": "high",
   "timeout": "5s", "key": "user-7", "pool": "io"}

(or "payload_base64" for bytes). They are pipelined on one stream, up to
--window at a time, and every result is printed as it comes, as a JSON line
on stdout: {"line": 3, "id": "a1", "ok": true, "output": "text", "worker":
..., "node": ..., "queued_ms": ..., "run_ms": ...}, or "error": {"code":
"TIMEOUT", "message": ...}. On a terminal, stderr shows a progress line.
If the command is stopped (Ctrl-C), the tasks still pending are canceled.

The token (if the node asks for one) comes from --token-file or the
DROVER_TOKEN environment variable; --ca, --cert and --key dial with mutual
TLS.

Exit status: 0 when every task succeeded (or, without --wait, was queued);
1 when one failed or was refused, or the node cannot be reached; 2 on bad
usage.`,
		Example: `  drover submit --addr 127.0.0.1:7070 --type echo --payload hello --wait
  drover submit --addr 127.0.0.1:7070 --type hash --payload @big.bin --priority high --wait
  drover submit --addr 127.0.0.1:7070 --type sleep --payload 30s --id nightly-1
  seq 1000 | sed 's/.*/{"type":"echo","payload":"&"}/' | drover submit --addr 127.0.0.1:7070`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSubmit(cmd.Context(), o, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Addr, "addr", "127.0.0.1:7070", "the node's task API, host:port")
	f.StringVar(&o.TokenFile, "token-file", "", "a file holding the bearer token (default: $DROVER_TOKEN)")
	f.StringVar(&o.CAFile, "ca", "", "CA certificate (PEM) for mutual TLS; with --cert and --key")
	f.StringVar(&o.CertFile, "cert", "", "client certificate (PEM) for mutual TLS")
	f.StringVar(&o.KeyFile, "key-file", "", "client key (PEM) for mutual TLS")
	f.StringVar(&o.Type, "type", "", "the task's type (echo, sleep, hash, ...); without it, tasks are read from stdin as JSON lines")
	f.StringVar(&o.Payload, "payload", "", `the task's payload; "@FILE" reads FILE, "@-" reads stdin`)
	f.StringVar(&o.Priority, "priority", "", "critical, high, normal or low (default normal)")
	f.StringVar(&o.Pool, "pool", "", "the pool to run it (default: the node's first)")
	f.DurationVar(&o.Timeout, "timeout", 0, "the task's timeout (default: the pool's)")
	f.StringVar(&o.Key, "key", "", "the routing key")
	f.StringVar(&o.ID, "id", "", "the task's id: the node runs an id it keeps once (default: one is picked)")
	f.BoolVar(&o.Wait, "wait", false, "wait for the result and print it")
	f.IntVar(&o.Window, "window", client.DefaultWindow, "most tasks in flight when reading stdin")
	f.DurationVar(&o.ConnectTimeout, "connect-timeout", 10*time.Second, "how long to try to reach the node")
	return cmd
}

func (o submitOptions) dial() (*client.Client, error) {
	var opts []client.Option
	token := os.Getenv("DROVER_TOKEN")
	if o.TokenFile != "" {
		b, err := os.ReadFile(o.TokenFile)
		if err != nil {
			return nil, usageErrorf("--token-file: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token != "" {
		opts = append(opts, client.WithToken(token))
	}
	switch n := btoi(o.CAFile != "") + btoi(o.CertFile != "") + btoi(o.KeyFile != ""); n {
	case 0:
	case 3:
		cfg, err := cluster.LoadTLS(o.CAFile, o.CertFile, o.KeyFile)
		if err != nil {
			return nil, usageErrorf("--ca, --cert, --key-file: %w", err)
		}
		opts = append(opts, client.WithTLS(&tls.Config{Certificates: cfg.Certificates, RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}))
	default:
		return nil, usageErrorf("--ca, --cert and --key-file go together; allowed: all three or none")
	}
	if o.Window < 1 {
		return nil, usageErrorf("--window is %d; allowed: 1 or more", o.Window)
	}
	if o.ConnectTimeout <= 0 {
		return nil, usageErrorf("--connect-timeout is %s; allowed: more than 0", o.ConnectTimeout)
	}
	opts = append(opts, client.WithWindow(o.Window))
	c, err := client.Dial(o.Addr, opts...)
	if err != nil {
		return nil, failuref("%w", err)
	}
	return c, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func runSubmit(ctx context.Context, o submitOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	var one *actors.Task
	if o.Type != "" {
		t, err := o.task(stdin)
		if err != nil {
			return err
		}
		one = &t
	} else if o.Payload != "" || o.ID != "" || o.Key != "" || o.Wait {
		return usageErrorf("--type is missing; allowed: a task type, or no task flags at all to read tasks from stdin")
	}
	c, err := o.dial()
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Close(closeCtx)
	}()
	if one == nil || o.Wait {
		connCtx, cancel := context.WithTimeout(ctx, o.ConnectTimeout)
		err := c.Connect(connCtx)
		cancel()
		if err != nil {
			return failuref("%s: %w", o.Addr, err)
		}
	}
	if one == nil {
		return submitLines(ctx, c, stdin, stdout, stderr)
	}
	enc := json.NewEncoder(stdout)
	if !o.Wait {
		enqCtx, cancel := context.WithTimeout(ctx, o.ConnectTimeout)
		defer cancel()
		id, dup, err := c.Enqueue(enqCtx, *one)
		if err != nil {
			return failuref("%w", err)
		}
		return enc.Encode(map[string]any{"id": id, "duplicate": dup})
	}
	f, err := c.Submit(ctx, *one)
	if err != nil {
		return failuref("%w", err)
	}
	r, err := f.Wait(ctx)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		f.Cancel()
		return failuref("stopped: the task was canceled")
	}
	line := resultLine(0, one.ID, r)
	if err := enc.Encode(line); err != nil {
		return err
	}
	if r.Err != nil {
		return &exitError{code: exitFailure, err: fmt.Errorf("the task failed: %w", r.Err)}
	}
	return nil
}

// task builds the task the flags describe.
func (o submitOptions) task(stdin io.Reader) (actors.Task, error) {
	t := actors.Task{Type: o.Type, Pool: o.Pool, Timeout: o.Timeout, Key: o.Key, ID: o.ID}
	switch {
	case o.Payload == "@-":
		b, err := io.ReadAll(stdin)
		if err != nil {
			return t, failuref("reading the payload from stdin: %w", err)
		}
		t.Payload = b
	case strings.HasPrefix(o.Payload, "@"):
		b, err := os.ReadFile(o.Payload[1:])
		if err != nil {
			return t, usageErrorf("--payload %s: %w", o.Payload, err)
		}
		t.Payload = b
	default:
		t.Payload = []byte(o.Payload)
	}
	if o.Priority != "" {
		p, err := actors.ParsePriority(o.Priority)
		if err != nil {
			return t, usageErrorf("--priority is %q; allowed: critical, high, normal, low", o.Priority)
		}
		t.Priority = p
	}
	if o.Timeout < 0 {
		return t, usageErrorf("--timeout is %s; allowed: 0 (the pool's) or more", o.Timeout)
	}
	return t, nil
}

// taskLine is one task of stdin.
type taskLine struct {
	ID            string `json:"id"`
	Type          string `json:"type"`
	Payload       string `json:"payload"`
	PayloadBase64 []byte `json:"payload_base64"`
	Priority      string `json:"priority"`
	Timeout       string `json:"timeout"`
	Key           string `json:"key"`
	Pool          string `json:"pool"`
}

func (l taskLine) task() (actors.Task, error) {
	t := actors.Task{ID: l.ID, Type: l.Type, Key: l.Key, Pool: l.Pool, Payload: []byte(l.Payload)}
	if l.PayloadBase64 != nil {
		t.Payload = l.PayloadBase64
	}
	if l.Priority != "" {
		p, err := actors.ParsePriority(l.Priority)
		if err != nil {
			return t, err
		}
		t.Priority = p
	}
	if l.Timeout != "" {
		d, err := time.ParseDuration(l.Timeout)
		if err != nil {
			return t, fmt.Errorf("%w: timeout is %q; allowed: a duration such as \"5s\"", actors.ErrInvalidTask, l.Timeout)
		}
		t.Timeout = d
	}
	return t, nil
}

// outLine is one result on stdout.
type outLine struct {
	Line         int        `json:"line,omitempty"`
	ID           string     `json:"id,omitempty"`
	OK           bool       `json:"ok"`
	Output       *string    `json:"output,omitempty"`
	OutputBase64 string     `json:"output_base64,omitempty"`
	Error        *lineError `json:"error,omitempty"`
	Worker       string     `json:"worker,omitempty"`
	Node         string     `json:"node,omitempty"`
	QueuedMs     float64    `json:"queued_ms"`
	RunMs        float64    `json:"run_ms"`
}

type lineError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func errorLine(err error) *lineError {
	return &lineError{Code: strings.TrimPrefix(actors.ErrorCode(err).String(), "ERROR_CODE_"), Message: err.Error()}
}

func resultLine(n int, id string, r actors.Result) outLine {
	l := outLine{Line: n, ID: id, OK: r.Err == nil, Worker: r.Worker, Node: r.Node,
		QueuedMs: float64(r.Queued.Microseconds()) / 1000, RunMs: float64(r.Run.Microseconds()) / 1000}
	if r.Err != nil {
		l.Error = errorLine(r.Err)
	} else if utf8.Valid(r.Output) {
		s := string(r.Output)
		l.Output = &s
	} else {
		l.OutputBase64 = base64.StdEncoding.EncodeToString(r.Output)
	}
	return l
}

// submitLines submits every line of stdin as a task and prints each
// result as it comes.
func submitLines(ctx context.Context, c *client.Client, stdin io.Reader, stdout, stderr io.Writer) error {
	var (
		outMu            sync.Mutex
		enc              = json.NewEncoder(stdout)
		sent, done, fail atomic.Uint64
		wg               sync.WaitGroup
	)
	print := func(l outLine) {
		if !l.OK {
			fail.Add(1)
		}
		done.Add(1)
		outMu.Lock()
		_ = enc.Encode(l)
		outMu.Unlock()
	}
	con := newConsole(stderr, isTerminal(stderr))
	start := time.Now()
	stop, shown := make(chan struct{}), make(chan struct{})
	if con.tty {
		go func() {
			defer close(shown)
			t := time.NewTicker(progressTTYEvery)
			defer t.Stop()
			line := func() string {
				el := time.Since(start)
				return fmt.Sprintf("submit: %d/%d done, %d failed, %.0f tasks/s, %s", done.Load(), sent.Load(), fail.Load(),
					float64(done.Load())/max(el.Seconds(), 1e-9), el.Round(100*time.Millisecond))
			}
			for {
				select {
				case <-t.C:
					con.progress(line(), false)
				case <-stop:
					con.progress(line(), true)
					return
				}
			}
		}()
	} else {
		close(shown)
	}
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	n := 0
	var readErr error
	for sc.Scan() && ctx.Err() == nil {
		n++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var tl taskLine
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		err := dec.Decode(&tl)
		if err != nil {
			err = fmt.Errorf("%w: line %d is not a task in JSON: %w", actors.ErrInvalidTask, n, err)
		}
		var t actors.Task
		if err == nil {
			t, err = tl.task()
		}
		sent.Add(1)
		var f *actors.Future
		if err == nil {
			f, err = c.Submit(ctx, t)
		}
		if err != nil {
			print(outLine{Line: n, ID: tl.ID, Error: errorLine(err)})
			continue
		}
		wg.Add(1)
		go func(n int, id string) {
			defer wg.Done()
			r, err := f.Wait(ctx)
			if err != nil && ctx.Err() != nil {
				f.Cancel() // stopped: the task is not wanted any more
				r, _ = f.Wait(context.Background())
			}
			print(resultLine(n, id, r))
		}(n, tl.ID)
	}
	if err := sc.Err(); err != nil {
		readErr = failuref("reading stdin: %w", err)
	}
	wg.Wait()
	close(stop)
	<-shown
	switch {
	case readErr != nil:
		return readErr
	case ctx.Err() != nil:
		return failuref("stopped after %d of the tasks: the others were canceled", done.Load())
	case fail.Load() > 0:
		return &exitError{code: exitFailure, err: fmt.Errorf("%d of %d tasks failed", fail.Load(), sent.Load())}
	}
	return nil
}
