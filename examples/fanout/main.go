// Command fanout shows parallel CPU work with Drover: fan-out and fan-in.
//
// It splits a generated input into chunks, hashes every chunk on a pool of
// CPU workers (fan-out: one task per chunk, submitted without waiting), then
// waits for every task's Future and combines the chunk digests into one root
// digest (fan-in), which equals what hashing the chunks one after the other
// gives.
//
// The hashing is a registered handler ("sha256"), so a task is plain data
// (a type name and a payload of bytes) that could as well cross a process
// boundary. Results are collected by index, so the order of completion does
// not matter.
//
//	go run ./examples/fanout -chunks 64 -size 1048576
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/drover-go/drover/actors"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fanout:", err)
		os.Exit(1)
	}
}

// run parses args, hashes the input in parallel and prints the root digest
// and how many chunks each worker hashed.
func run(ctx context.Context, args []string, out io.Writer) (err error) {
	fs := flag.NewFlagSet("fanout", flag.ContinueOnError)
	fs.SetOutput(out)
	chunks := fs.Int("chunks", 32, "number of chunks")
	size := fs.Int("size", 256<<10, "bytes per chunk")
	workers := fs.Int("workers", 0, "CPU workers (0: GOMAXPROCS)")
	seed := fs.Uint64("seed", 1, "seed of the generated input")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *chunks < 1 || *size < 1 {
		return fmt.Errorf("-chunks and -size must be at least 1, got %d and %d", *chunks, *size)
	}

	node, err := actors.NewNode(
		// A KindCPU pool runs one task per worker at a time: as many tasks
		// run at once as there are workers, GOMAXPROCS by default.
		actors.WithPool(actors.PoolConfig{Name: "cpu", Kind: actors.KindCPU, Workers: *workers}),
		actors.WithHandler("sha256", hashChunk),
	)
	if err != nil {
		return err
	}
	// Shutdown drains what is still queued or running (nothing, unless we
	// return early) and stops every goroutine of the node.
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, serr := node.Shutdown(sctx)
		err = errors.Join(err, serr)
	}()

	data := generate(*seed, *chunks, *size)

	// Fan out: submit every chunk without waiting for any result. Submit
	// only waits when the pool's queue (1024 tasks by default) is full.
	futures := make([]*actors.Future, len(data))
	for i, chunk := range data {
		f, err := node.Submit(ctx, actors.Task{Type: "sha256", Pool: "cpu", Payload: chunk})
		if err != nil {
			return fmt.Errorf("submit chunk %d: %w", i, err)
		}
		futures[i] = f
	}

	// Fan in: wait for every result, keeping each digest at its chunk's
	// index, and count the chunks per worker.
	digests := make([][]byte, len(futures))
	perWorker := map[string]int{}
	for i, f := range futures {
		res, err := f.Wait(ctx)
		if err != nil {
			return fmt.Errorf("chunk %d: %w", i, err)
		}
		digests[i] = res.Output
		perWorker[res.Worker]++
	}

	fmt.Fprintf(out, "hashed %d chunks of %d bytes\n", len(data), *size)
	fmt.Fprintf(out, "root %s\n", hex.EncodeToString(combine(digests)))
	names := make([]string, 0, len(perWorker))
	for name := range perWorker {
		names = append(names, name)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, name := range names {
		fmt.Fprintf(&b, " %s=%d", name, perWorker[name])
	}
	fmt.Fprintf(out, "chunks per worker:%s\n", b.String())
	return nil
}

// hashChunk is the task handler: the SHA-256 digest of the payload. It is
// safe to run on many workers at once; it does not look at ctx because one
// chunk is quick to hash.
func hashChunk(_ context.Context, payload []byte) ([]byte, error) {
	sum := sha256.Sum256(payload)
	return sum[:], nil
}

// generate returns n chunks of size pseudo-random bytes from seed: the same
// input for the same arguments.
func generate(seed uint64, n, size int) [][]byte {
	rng := rand.New(rand.NewPCG(seed, seed))
	out := make([][]byte, n)
	for i := range out {
		chunk := make([]byte, size)
		for j := range chunk {
			chunk[j] = byte(rng.Uint32())
		}
		out[i] = chunk
	}
	return out
}

// combine is the root digest: SHA-256 over the chunk digests in order.
func combine(digests [][]byte) []byte {
	h := sha256.New()
	for _, d := range digests {
		h.Write(d)
	}
	return h.Sum(nil)
}
