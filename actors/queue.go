package actors

import "time"

// Where a job is, under pool.mu.
const (
	nowhere  int8 = iota // not held by the pool
	inQueue              // waiting in the pool's queue
	inFlight             // handed to a worker
	inRetry              // waiting for a retry's backoff
)

// jobList is an intrusive doubly linked list of jobs: pushing and removing
// allocate nothing and removal from the middle is O(1), which cancellation
// and timeouts need.
type jobList struct {
	head, tail *Future
	n          int
}

func (l *jobList) pushBack(f *Future) {
	f.prev, f.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = f
	} else {
		l.head = f
	}
	l.tail = f
	l.n++
}

func (l *jobList) pushFront(f *Future) {
	f.prev, f.next = nil, l.head
	if l.head != nil {
		l.head.prev = f
	} else {
		l.tail = f
	}
	l.head = f
	l.n++
}

func (l *jobList) remove(f *Future) {
	if f.prev != nil {
		f.prev.next = f.next
	} else {
		l.head = f.next
	}
	if f.next != nil {
		f.next.prev = f.prev
	} else {
		l.tail = f.prev
	}
	f.prev, f.next = nil, nil
	l.n--
}

// jobQueue holds a pool's waiting jobs, one FIFO per priority level. It is
// not safe for concurrent use: pool.mu guards it.
type jobQueue struct {
	levels [numPriorities]jobList
	n      int
}

func (q *jobQueue) len() int { return q.n }

func (q *jobQueue) push(f *Future) {
	q.levels[f.level].pushBack(f)
	q.n++
}

// pushFront puts a job back at the head of its level, ahead of newer ones.
func (q *jobQueue) pushFront(f *Future) {
	q.levels[f.level].pushFront(f)
	q.n++
}

// peek returns the job to start next, or nil: the head of the highest
// non-empty level. With aging, a head's level rises by one for every aging
// it has waited, so that low priorities cannot starve; among equal
// effective levels the higher original priority wins. Only the heads (the
// oldest job of each level) compete, so this is O(levels).
func (q *jobQueue) peek(aging time.Duration, now int64) *Future {
	if q.n == 0 {
		return nil
	}
	var best *Future
	bestLevel := numPriorities
	for i := range q.levels {
		h := q.levels[i].head
		if h == nil {
			continue
		}
		eff := i
		if aging > 0 && i > 0 {
			eff -= int(time.Duration(now-h.accepted) / aging)
			eff = max(eff, 0)
		}
		if eff < bestLevel {
			best, bestLevel = h, eff
		}
		if aging <= 0 || bestLevel == 0 {
			break
		}
	}
	return best
}

// victim returns the newest job of the lowest level below level, the one a
// higher-priority task may shed, or nil.
func (q *jobQueue) victim(level int) *Future {
	for i := numPriorities - 1; i > level; i-- {
		if t := q.levels[i].tail; t != nil {
			return t
		}
	}
	return nil
}

func (q *jobQueue) remove(f *Future) {
	q.levels[f.level].remove(f)
	q.n--
}

// depths returns the number of queued jobs per level, critical first.
func (q *jobQueue) depths() [numPriorities]int {
	var d [numPriorities]int
	for i := range q.levels {
		d[i] = q.levels[i].n
	}
	return d
}
