package bench

// fifo is a growable ring of futures awaited oldest first. Not safe for
// concurrent use: the harness submits and awaits from one goroutine.
type fifo[T any] struct {
	buf        []T
	head, size int
}

func newFIFO[T any](capacity int) fifo[T] {
	return fifo[T]{buf: make([]T, max(capacity, 1))}
}

func (q *fifo[T]) push(v T) {
	if q.size == len(q.buf) {
		grown := make([]T, 2*len(q.buf))
		n := copy(grown, q.buf[q.head:])
		copy(grown[n:], q.buf[:q.head])
		q.buf, q.head = grown, 0
	}
	q.buf[(q.head+q.size)%len(q.buf)] = v
	q.size++
}

// pop removes and returns the oldest value; the fifo must not be empty.
func (q *fifo[T]) pop() T {
	var zero T
	v := q.buf[q.head]
	q.buf[q.head] = zero
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	return v
}
