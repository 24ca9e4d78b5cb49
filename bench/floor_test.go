package bench

import (
	"sync"
	"testing"
)

// floorRecord is a task record of a Future's size (three cache lines),
// queued on an intrusive list: the shape of Drover's per-task record
// without anything Drover does with it.
type floorRecord struct {
	prev, next *floorRecord
	fn         func()
	_          [5]uint64 // the rest of the first line
	line1      [8]uint64
	line2      [8]uint64
}

// floorQueue is a mutex and an intrusive FIFO, with consumers that park on
// a channel while it is empty.
type floorQueue struct {
	mu         sync.Mutex
	head, tail *floorRecord
	waiting    int
	wake       chan struct{}
}

func (q *floorQueue) push(r *floorRecord) {
	q.mu.Lock()
	r.prev, r.next = q.tail, nil
	if q.tail != nil {
		q.tail.next = r
	} else {
		q.head = r
	}
	q.tail = r
	wake := q.waiting > 0
	if wake {
		q.waiting--
	}
	q.mu.Unlock()
	if wake {
		q.wake <- struct{}{}
	}
}

func (q *floorQueue) pop() *floorRecord {
	q.mu.Lock()
	for q.head == nil {
		q.waiting++
		q.mu.Unlock()
		<-q.wake
		q.mu.Lock()
	}
	r := q.head
	q.head = r.next
	if q.head != nil {
		q.head.prev = nil
	} else {
		q.tail = nil
	}
	q.mu.Unlock()
	return r
}

// BenchmarkHandoffFloor is the floor of the hand-off Drover's pools are
// built on, beside the channel pool and Drover's lean path, in one run: a
// submitter takes a reused record from a free list under a lock, queues it
// under the queue's lock, two runners take records and run them, and the
// result goes back over a channel; 1,000 in flight, as in the suite's
// empty workload. lines=1 touches one cache line of the record on each
// side, lines=3 all three (as a task's fields, result and links do).
// submitter is bareSubmitter (BenchmarkLeanWorkers' two-worker case): an
// actors.Submitter with a handler that does nothing, without the slot
// table the suite's drover_lean needs to run the harness's funcs;
// drover_lean is the suite's row.
//
// The gap between chan and lines=1 is the cost of the structure (a lock
// and a list instead of a channel); between lines=1 and lines=3 the cost of
// moving a large record between cores; between lines=3 and submitter what
// Drover does per task besides.
//
//	go test -run '^$' -bench BenchmarkHandoffFloor -benchtime 3000000x -count 3 ./bench/
func BenchmarkHandoffFloor(b *testing.B) {
	b.Run("chan", func(b *testing.B) { benchImpl(b, chanImpl(), 2, emptyTask) })
	b.Run("lines=1", func(b *testing.B) { handoffFloor(b, 1) })
	b.Run("lines=3", func(b *testing.B) { handoffFloor(b, 3) })
	b.Run("submitter", func(b *testing.B) { bareSubmitter(b, 2) })
	b.Run("drover_lean", func(b *testing.B) { benchImpl(b, droverLeanImpl(), 2, emptyTask) })
}

// floorSink keeps the reads of a result from being optimized away.
var floorSink uint64

func handoffFloor(b *testing.B, lines int) {
	q := &floorQueue{wake: make(chan struct{}, 2)}
	results := make(chan *floorRecord, window)
	var fmu sync.Mutex
	free := make([]*floorRecord, 0, window)
	for range window {
		free = append(free, &floorRecord{})
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				r := q.pop()
				if r.fn == nil {
					return
				}
				r.fn()
				if lines == 3 {
					r.line1[0]++ // the result
					r.line2[0]++ // the timings and worker
				}
				results <- r
			}
		})
	}
	task := emptyTask
	b.ResetTimer()
	out := 0
	for range b.N {
		if out == window {
			r := <-results
			if lines == 3 {
				floorSink += r.line1[0] + r.line2[0] // the caller reads the result
			}
			fmu.Lock()
			free = append(free, r)
			fmu.Unlock()
			out--
		}
		fmu.Lock()
		r := free[len(free)-1]
		free = free[:len(free)-1]
		fmu.Unlock()
		r.fn = task
		if lines == 3 {
			r.line1[1], r.line2[1] = 0, 0 // cleared for reuse
		}
		q.push(r)
		out++
	}
	for ; out > 0; out-- {
		<-results
	}
	b.StopTimer()
	q.push(&floorRecord{})
	q.push(&floorRecord{})
	wg.Wait()
}
