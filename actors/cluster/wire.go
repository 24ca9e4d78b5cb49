package cluster

import (
	"errors"
	"fmt"
	"time"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/protos"
)

// The wire forms of task and result batches (protos.TaskColumns,
// protos.ResultColumns): a batch is a few slices, whatever its size, so
// that neither side makes protobuf objects per task.

// outTask is a dispatch queued for another member: its pending key, its
// call, and which dispatch of the call it is. The call's task fields are
// read-only once it was first dispatched.
type outTask struct {
	k       uint64
	f       *call
	attempt uint32
}

func outTaskSize(t outTask) int { return len(t.f.payload) + len(t.f.key) }

// outResult is a result queued for the member that sent the task: id is
// the task's id in TaskColumns, or sid its envelope's id when it came as
// an envelope (TaskBatch.tasks).
type outResult struct {
	id  uint64
	sid string
	res actors.Result
}

func outResultSize(r outResult) int { return len(r.res.Output) }

// column appends v, the entry of index i, to a column that stays nil while
// every entry is the zero value.
func column[T comparable](c []T, i int, v T, n int) []T {
	if c == nil {
		var zero T
		if v == zero {
			return nil
		}
		c = make([]T, i, n)
	}
	return append(c, v)
}

// names is a table of distinct strings and their indexes; a map takes
// over from the linear search once it holds more than a few.
type names struct {
	list  []string
	index map[string]uint32
}

func (t *names) of(s string) uint32 {
	if t.index != nil {
		if i, ok := t.index[s]; ok {
			return i
		}
	} else {
		for i, x := range t.list {
			if x == s {
				return uint32(i)
			}
		}
	}
	i := uint32(len(t.list))
	t.list = append(t.list, s)
	if t.index != nil {
		t.index[s] = i
	} else if len(t.list) > 8 {
		t.index = make(map[string]uint32, 2*len(t.list))
		for j, x := range t.list {
			t.index[x] = uint32(j)
		}
	}
	return i
}

// taskBatch returns the wire form of dispatches to another member. A
// dispatch that ended or moved since it was queued (canceled, or its
// member lost) is left out: nobody waits for its result.
func taskBatch(ts []outTask) wireMsg {
	n := len(ts)
	c := &protos.TaskColumns{Ids: make([]uint64, 0, n)}
	var types, pools names
	payloads := 0
	for _, t := range ts {
		payloads += len(t.f.payload)
	}
	if payloads > 0 {
		c.Payloads = make([]byte, 0, payloads)
		c.PayloadEnds = make([]uint64, 0, n)
	}
	now := time.Time{}
	for _, t := range ts {
		f := t.f
		if f.cur.Load() != t.k || f.abort.Load() != nil {
			continue
		}
		i := len(c.Ids)
		c.Ids = append(c.Ids, t.k)
		c.TypeIndex = column(c.TypeIndex, i, types.of(f.typ), n)
		c.PoolIndex = column(c.PoolIndex, i, pools.of(f.pool), n)
		if payloads > 0 {
			c.Payloads = append(c.Payloads, f.payload...)
			c.PayloadEnds = append(c.PayloadEnds, uint64(len(c.Payloads)))
		}
		c.Priorities = column(c.Priorities, i, protos.Priority(f.priority), n)
		c.Keys = column(c.Keys, i, f.key, n)
		c.Idempotent = column(c.Idempotent, i, f.idempotent, n)
		c.Attempts = column(c.Attempts, i, t.attempt, n)
		var timeout int64
		if d := f.deadline(); !d.IsZero() {
			if now.IsZero() {
				now = time.Now()
			}
			timeout = int64(max(d.Sub(now), time.Millisecond))
		}
		c.Timeouts = column(c.Timeouts, i, timeout, n)
	}
	c.Types, c.Pools = types.list, pools.list
	return wireMsg{&protos.TaskBatch{Columns: c}}
}

// taskColumns reads a TaskColumns after checking that its columns fit
// together.
type taskColumns struct{ c *protos.TaskColumns }

// readTaskColumns checks c: every column empty or one entry per task,
// indexes within their tables, payload ends in order within payloads.
func readTaskColumns(c *protos.TaskColumns) (taskColumns, error) {
	n := len(c.GetIds())
	if err := columnsFit(n,
		col{"type_index", len(c.GetTypeIndex())}, col{"pool_index", len(c.GetPoolIndex())},
		col{"payload_ends", len(c.GetPayloadEnds())}, col{"priorities", len(c.GetPriorities())},
		col{"keys", len(c.GetKeys())}, col{"idempotent", len(c.GetIdempotent())},
		col{"attempts", len(c.GetAttempts())}, col{"timeouts", len(c.GetTimeouts())},
	); err != nil {
		return taskColumns{}, err
	}
	if err := indexesFit("type_index", c.GetTypeIndex(), len(c.GetTypes()), n); err != nil {
		return taskColumns{}, err
	}
	if err := indexesFit("pool_index", c.GetPoolIndex(), len(c.GetPools()), n); err != nil {
		return taskColumns{}, err
	}
	if err := endsFit("payload_ends", c.GetPayloadEnds(), len(c.GetPayloads())); err != nil {
		return taskColumns{}, err
	}
	return taskColumns{c}, nil
}

// task returns task i. Its payload shares the batch's buffer, capped so
// that an append cannot reach the next task's.
func (tc taskColumns) task(i int) actors.Task {
	c := tc.c
	t := actors.Task{
		Type: pick(c.GetTypes(), c.GetTypeIndex(), i),
		Pool: pick(c.GetPools(), c.GetPoolIndex(), i),
		// Its result goes back over the wire with its timings.
		Timed: true,
	}
	t.Payload = slice(c.GetPayloads(), c.GetPayloadEnds(), i)
	if p := c.GetPriorities(); p != nil {
		t.Priority = actors.Priority(p[i])
	}
	if k := c.GetKeys(); k != nil {
		t.Key = k[i]
	}
	if x := c.GetIdempotent(); x != nil {
		t.Idempotent = x[i]
	}
	if x := c.GetTimeouts(); x != nil && x[i] > 0 {
		t.Timeout = time.Duration(x[i])
	}
	return t
}

// pick returns the entry of table named by index i of idx (the first
// entry when idx is empty; "" when the table is empty).
func pick(table []string, idx []uint32, i int) string {
	j := uint32(0)
	if idx != nil {
		j = idx[i]
	}
	if int(j) >= len(table) {
		return ""
	}
	return table[j]
}

// slice returns piece i of buf as cut by ends, nil when it is empty.
func slice(buf []byte, ends []uint64, i int) []byte {
	if ends == nil {
		return nil
	}
	start := uint64(0)
	if i > 0 {
		start = ends[i-1]
	}
	if ends[i] == start {
		return nil
	}
	return buf[start:ends[i]:ends[i]]
}

// col is a column's name and length, for columnsFit.
type col struct {
	name string
	len  int
}

func columnsFit(n int, cols ...col) error {
	for _, c := range cols {
		if c.len != 0 && c.len != n {
			return fmt.Errorf("cluster: batch column %s has %d entries; allowed: 0 or %d", c.name, c.len, n)
		}
	}
	return nil
}

func indexesFit(name string, idx []uint32, table, n int) error {
	if idx == nil {
		if n > 0 && table == 0 {
			return fmt.Errorf("cluster: batch column %s names no entry of an empty table", name)
		}
		return nil
	}
	for _, j := range idx {
		if int(j) >= table {
			return fmt.Errorf("cluster: batch column %s has index %d; allowed: below %d", name, j, table)
		}
	}
	return nil
}

func endsFit(name string, ends []uint64, size int) error {
	prev := uint64(0)
	for _, e := range ends {
		if e < prev || e > uint64(size) {
			return fmt.Errorf("cluster: batch column %s has end %d after %d; allowed: in order, at most %d", name, e, prev, size)
		}
		prev = e
	}
	return nil
}

// resultBatch returns the wire form of results going back to the member
// that sent the tasks.
func resultBatch(rs []outResult) wireMsg {
	b := &protos.ResultBatch{}
	n := len(rs)
	c := &protos.ResultColumns{Ids: make([]uint64, 0, n)}
	var workers names
	outputs := 0
	for i := range rs {
		outputs += len(rs[i].res.Output)
	}
	if outputs > 0 {
		c.Outputs = make([]byte, 0, outputs)
		c.OutputEnds = make([]uint64, 0, n)
	}
	for i := range rs {
		r := &rs[i]
		if r.sid != "" {
			b.Results = append(b.Results, actors.ResultProto(r.sid, r.res))
			continue
		}
		j := len(c.Ids)
		c.Ids = append(c.Ids, r.id)
		var w uint32
		if r.res.Worker != "" {
			w = workers.of(r.res.Worker) + 1
		}
		c.WorkerIndex = column(c.WorkerIndex, j, w, n)
		c.Queued = column(c.Queued, j, int64(r.res.Queued), n)
		c.Run = column(c.Run, j, int64(r.res.Run), n)
		if outputs > 0 {
			c.Outputs = append(c.Outputs, r.res.Output...)
			c.OutputEnds = append(c.OutputEnds, uint64(len(c.Outputs)))
		}
		if err := r.res.Err; err != nil {
			c.ErrorIndex = append(c.ErrorIndex, uint32(j))
			c.Errors = append(c.Errors, wireError(err))
		}
	}
	c.Workers = workers.list
	if len(c.Ids) > 0 {
		b.Columns = c
	}
	return wireMsg{b}
}

// wireError is the wire form of a task's error.
func wireError(err error) *protos.TaskError {
	te := &protos.TaskError{Code: actors.ErrorCode(err), Message: err.Error()}
	var pe *actors.PanicError
	if errors.As(err, &pe) {
		te.Stack = string(pe.Stack)
	}
	return te
}

// readResultColumns checks c as readTaskColumns checks a TaskColumns and
// calls each with every result in it.
func readResultColumns(c *protos.ResultColumns, each func(id uint64, r actors.Result)) error {
	ids := c.GetIds()
	n := len(ids)
	if err := columnsFit(n,
		col{"worker_index", len(c.GetWorkerIndex())}, col{"queued", len(c.GetQueued())},
		col{"run", len(c.GetRun())}, col{"output_ends", len(c.GetOutputEnds())},
	); err != nil {
		return err
	}
	if len(c.GetErrorIndex()) != len(c.GetErrors()) {
		return fmt.Errorf("cluster: batch column error_index has %d entries; allowed: one per error (%d)", len(c.GetErrorIndex()), len(c.GetErrors()))
	}
	for _, w := range c.GetWorkerIndex() {
		if int(w) > len(c.GetWorkers()) {
			return fmt.Errorf("cluster: batch column worker_index has %d; allowed: at most %d", w, len(c.GetWorkers()))
		}
	}
	inOrder := true
	for k, j := range c.GetErrorIndex() {
		if int(j) >= n {
			return fmt.Errorf("cluster: batch column error_index has %d; allowed: below %d", j, n)
		}
		if k > 0 && j <= c.GetErrorIndex()[k-1] {
			inOrder = false
		}
	}
	if err := endsFit("output_ends", c.GetOutputEnds(), len(c.GetOutputs())); err != nil {
		return err
	}
	errs, errAt := c.GetErrors(), c.GetErrorIndex()
	var errOf map[uint32]*protos.TaskError // when errors are not in index order (this package sends them in order)
	if !inOrder {
		errOf = make(map[uint32]*protos.TaskError, len(errs))
		for k, j := range errAt {
			errOf[j] = errs[k]
		}
	}
	next := 0
	for i, id := range ids {
		var r actors.Result
		if w := c.GetWorkerIndex(); w != nil && w[i] > 0 {
			r.Worker = c.GetWorkers()[w[i]-1]
		}
		if q := c.GetQueued(); q != nil {
			r.Queued = time.Duration(q[i])
		}
		if x := c.GetRun(); x != nil {
			r.Run = time.Duration(x[i])
		}
		r.Output = slice(c.GetOutputs(), c.GetOutputEnds(), i)
		if errOf != nil {
			if te := errOf[uint32(i)]; te != nil {
				r.Err = actors.ResultError(te)
			}
		} else if next < len(errAt) && int(errAt[next]) == i {
			r.Err = actors.ResultError(errs[next])
			next++
		}
		each(id, r)
	}
	return nil
}
