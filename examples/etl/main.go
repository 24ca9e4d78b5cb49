// Command etl shows an extract-transform-load pipeline on Drover: each
// stage is a pool, and bounded queues between them carry backpressure from
// the slowest stage back to the source.
//
// The stages:
//
//   - extract, an I/O pool: reads one record (a CSV line) from the source;
//   - transform, a CPU pool: parses and normalizes it, or rejects it;
//   - load, an I/O pool: writes the row to the sink (here a table in memory,
//     with a simulated write latency).
//
// Each pool's queue is small. A connector goroutine between two stages
// waits for each result of one stage, in order, and submits the next
// stage's task with Submit, which blocks while that stage's queue is full;
// the connector then stops reading, the previous stage's results wait, and
// so on back to the source. Memory stays bounded however large the input
// and whichever stage is slow. Every record is counted at the end: loaded,
// rejected or failed, never lost.
//
//	go run ./examples/etl -records 100000 -queue 32 -load-delay 50us
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/drover-go/drover/actors"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "etl:", err)
		os.Exit(1)
	}
}

// errReject is the error of a record that transform refuses.
var errReject = errors.New("etl: rejected")

// source is the input: record i is a CSV line "id,name,amount". Every
// badEvery-th record has an amount that does not parse.
type source struct{ badEvery int }

// read returns record i; in a real pipeline it reads a file, a page of an
// API or a database cursor.
func (s source) read(i int) string {
	amount := fmt.Sprintf("%d.%02d", i%100, i%7)
	if s.badEvery > 0 && i%s.badEvery == s.badEvery-1 {
		amount = "n/a"
	}
	return fmt.Sprintf("%d, user%d ,%s", i, i%13, amount)
}

// row is a transformed record.
type row struct {
	ID    int
	Name  string
	Cents int64
}

// transform parses a line into a row; it rejects lines that do not parse.
func transform(line string) (row, error) {
	f := strings.Split(line, ",")
	if len(f) != 3 {
		return row{}, fmt.Errorf("%w: %q has %d fields, want 3", errReject, line, len(f))
	}
	id, err := strconv.Atoi(strings.TrimSpace(f[0]))
	if err != nil {
		return row{}, fmt.Errorf("%w: id of %q: %w", errReject, line, err)
	}
	whole, frac, _ := strings.Cut(strings.TrimSpace(f[2]), ".")
	units, err1 := strconv.ParseInt(whole, 10, 64)
	cents, err2 := strconv.ParseUint(frac+strings.Repeat("0", max(0, 2-len(frac))), 10, 64)
	if err := errors.Join(err1, err2); err != nil || len(frac) > 2 {
		return row{}, fmt.Errorf("%w: amount of %q", errReject, line)
	}
	return row{ID: id, Name: strings.ToUpper(strings.TrimSpace(f[1])), Cents: units*100 + int64(cents)}, nil
}

// table is the sink: rows by id. Safe for concurrent use.
type table struct {
	mu    sync.Mutex
	rows  map[int]row
	delay time.Duration // simulated write latency
}

// insert writes r after the table's delay, or returns ctx's error.
func (t *table) insert(ctx context.Context, r row) error {
	if t.delay > 0 {
		wait := time.NewTimer(t.delay)
		defer wait.Stop()
		select {
		case <-wait.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rows[r.ID] = r
	return nil
}

// counts are the pipeline's end-to-end figures. Each field is written by
// one goroutine of pipeline and read once they have all ended.
type counts struct {
	read, extracted, transformed, rejected, loaded int
	// failed counts records lost to an error, per stage: in the stage or
	// on the way to the next.
	failed [3]int
	// blocked is the time Submit waited for room, per stage.
	blocked [3]time.Duration
}

// Failed is the number of records that failed in any stage.
func (c counts) Failed() int { return c.failed[0] + c.failed[1] + c.failed[2] }

// stageNames are the pools, in pipeline order.
var stageNames = [3]string{"extract", "transform", "load"}

// run moves -records records through the pipeline and prints the counts.
func run(ctx context.Context, args []string, out io.Writer) (err error) {
	fs := flag.NewFlagSet("etl", flag.ContinueOnError)
	fs.SetOutput(out)
	records := fs.Int("records", 10_000, "records to move")
	queue := fs.Int("queue", 16, "queue capacity of each stage's pool")
	badEvery := fs.Int("bad-every", 50, "every n-th record does not parse (0: none)")
	loadDelay := fs.Duration("load-delay", 20*time.Microsecond, "simulated latency of one write to the sink")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *records < 0 || *badEvery < 0 || *loadDelay < 0 {
		return errors.New("-records, -bad-every and -load-delay must not be negative")
	}

	node, err := actors.NewNode(
		actors.WithPool(actors.PoolConfig{Name: "extract", Kind: actors.KindIO, Workers: 2, Concurrency: 8, QueueCapacity: *queue}),
		actors.WithPool(actors.PoolConfig{Name: "transform", Kind: actors.KindCPU, QueueCapacity: *queue}),
		actors.WithPool(actors.PoolConfig{Name: "load", Kind: actors.KindIO, Workers: 2, Concurrency: 8, QueueCapacity: *queue}),
	)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, serr := node.Shutdown(sctx)
		err = errors.Join(err, serr)
	}()

	src := source{badEvery: *badEvery}
	sink := &table{rows: map[int]row{}, delay: *loadDelay}
	c, err := pipeline(ctx, node, *records, *queue, src, sink)
	if err != nil {
		return err
	}

	var total int64
	for _, r := range sink.rows {
		total += r.Cents
	}
	fmt.Fprintf(out, "records %d: extracted %d, transformed %d, rejected %d, loaded %d, failed %d\n",
		c.read, c.extracted, c.transformed, c.rejected, c.loaded, c.Failed())
	fmt.Fprintf(out, "table: %d rows, total %d.%02d\n", len(sink.rows), total/100, total%100)
	for i, s := range node.Stats().Pools {
		fmt.Fprintf(out, "stage %-9s queue %d, completed %d, submit waited %s for room\n",
			s.Name, s.QueueCapacity, s.Completed, c.blocked[i].Round(time.Millisecond))
	}
	if lost := c.read - c.loaded - c.rejected - c.Failed(); lost != 0 {
		return fmt.Errorf("%d records lost", lost)
	}
	return nil
}

// pipeline moves n records from src to sink through the node's three
// pools and returns the counts. It stops early, with an error, when ctx
// ends; every record read is still counted as loaded, rejected or failed.
// Between two stages it keeps at most window futures.
func pipeline(ctx context.Context, node *actors.Node, n, window int, src source, sink *table) (counts, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var c counts

	// submit sends a task to stage i; it blocks while the stage's queue is
	// full, which is the backpressure, and records how long.
	submit := func(i int, fn func(context.Context) (any, error)) (*actors.Future, error) {
		start := time.Now()
		f, err := node.Submit(ctx, actors.Task{Pool: stageNames[i], Func: fn})
		c.blocked[i] += time.Since(start)
		return f, err
	}

	// The futures of each stage, oldest first. A channel holds a window of
	// them, so a connector stays at most that far behind its stage.
	extracted := make(chan *actors.Future, window)
	transformed := make(chan *actors.Future, window)
	loaded := make(chan *actors.Future, window)

	var wg sync.WaitGroup
	wg.Add(3)
	// Source: one extract task per record.
	go func() {
		defer wg.Done()
		defer close(extracted)
		for i := range n {
			f, err := submit(0, func(context.Context) (any, error) { return src.read(i), nil })
			if err != nil {
				cancel(err)
				return
			}
			c.read++
			extracted <- f
		}
	}()
	// Connector: extract -> transform.
	go func() {
		defer wg.Done()
		defer close(transformed)
		for f := range extracted {
			res, err := f.Wait(ctx)
			if err != nil {
				c.failed[0]++
				continue
			}
			c.extracted++
			line := res.Value.(string)
			next, err := submit(1, func(context.Context) (any, error) { return transform(line) })
			if err != nil {
				cancel(err)
				c.failed[0]++ // extracted, never transformed
				continue
			}
			transformed <- next
		}
	}()
	// Connector: transform -> load.
	go func() {
		defer wg.Done()
		defer close(loaded)
		for f := range transformed {
			res, err := f.Wait(ctx)
			switch {
			case errors.Is(err, errReject):
				c.rejected++
				continue
			case err != nil:
				c.failed[1]++
				continue
			}
			c.transformed++
			r := res.Value.(row)
			next, err := submit(2, func(ctx context.Context) (any, error) { return nil, sink.insert(ctx, r) })
			if err != nil {
				cancel(err)
				c.failed[1]++ // transformed, never loaded
				continue
			}
			loaded <- next
		}
	}()
	// End of the line: count the loads.
	for f := range loaded {
		if _, err := f.Wait(ctx); err != nil {
			c.failed[2]++
			continue
		}
		c.loaded++
	}
	wg.Wait()
	return c, context.Cause(ctx)
}
