package cluster

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/proto"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/protos"
	"github.com/drover-go/drover/router"
)

// intBatch is the wire form of a batch of ints in the outbox tests.
type intBatch []int

func (intBatch) Deserialize() (remote.RootSerializable, error) { return nil, nil }

func TestOutbox(t *testing.T) {
	newInts := func(size func(int) int) (*outbox[int], *int) {
		posts := new(int)
		o := newOutbox(func(remote.RootSerializable) { *posts++ },
			func(b []int) remote.RootSerialized { return append(intBatch(nil), b...) }, size)
		return o, posts
	}
	one := func(int) int { return 1 }
	send := func(t *testing.T, o *outbox[int]) []int {
		t.Helper()
		w, err := o.tok.Serialize()
		require.NoError(t, err)
		return []int(w.(intBatch))
	}
	t.Run("the first item posts a token, the next ones ride with it", func(t *testing.T) {
		o, posts := newInts(one)
		require.True(t, o.add(1))
		assert.Equal(t, 1, *posts)
		require.True(t, o.add(2))
		require.True(t, o.add(3))
		assert.Equal(t, 1, *posts, "a token is on its way")
		assert.Equal(t, []int{1, 2, 3}, send(t, o))
		require.True(t, o.add(4))
		assert.Equal(t, 2, *posts, "the queue emptied: a new token")
		assert.Equal(t, []int{4}, send(t, o))
	})
	t.Run("a token that finds nothing sends an empty batch", func(t *testing.T) {
		o, posts := newInts(one)
		o.add(1)
		o.repost()
		assert.Equal(t, 2, *posts)
		assert.Equal(t, []int{1}, send(t, o))
		assert.Empty(t, send(t, o))
		o.repost()
		assert.Equal(t, 2, *posts, "nothing waits: no token")
	})
	t.Run("close keeps what is queued and refuses more", func(t *testing.T) {
		o, _ := newInts(one)
		o.add(1)
		o.close()
		assert.False(t, o.add(2))
		assert.Equal(t, []int{1}, send(t, o))
	})
	t.Run("discard drops what is queued", func(t *testing.T) {
		o, _ := newInts(one)
		o.add(1)
		o.discard()
		assert.False(t, o.add(2))
		assert.Empty(t, send(t, o))
	})
	t.Run("a batch over the budget leaves the rest to the next token", func(t *testing.T) {
		o, posts := newInts(func(x int) int { return x })
		o.add(batchBudget / 2)
		o.add(batchBudget / 2)
		o.add(1)
		o.add(2)
		assert.Equal(t, []int{batchBudget / 2, batchBudget / 2, 1}, send(t, o))
		assert.Equal(t, 2, *posts, "the rest has its token")
		assert.Equal(t, []int{2}, send(t, o))
		o.add(batchBudget * 2)
		assert.Equal(t, []int{batchBudget * 2}, send(t, o), "an item over the budget goes alone")
	})
	t.Run("batches are reused", func(t *testing.T) {
		o, _ := newInts(one)
		o.add(1)
		o.add(2)
		send(t, o)
		o.add(3)
		assert.Equal(t, 2, cap(o.items), "the emptied batch took the new items")
	})
}

func TestWireColumns(t *testing.T) {
	mk := func(typ, pool, key string, payload []byte, prio actors.Priority, idem bool, timeout time.Duration) *call {
		f := &call{typ: typ, pool: pool, key: key, payload: payload, priority: prio, idempotent: idem}
		if timeout > 0 {
			f.extra().deadline = time.Now().Add(timeout)
		}
		return f
	}
	calls := []*call{
		mk("noop", "work", "", nil, 0, false, 0),
		mk("echo", "work", "k1", []byte("hello"), actors.PriorityHigh, true, time.Hour),
		mk("noop", "other", "", []byte("x"), 0, false, 0),
		mk("echo", "work", "", nil, actors.PriorityLow, false, 0),
		mk("gone", "work", "", []byte("never sent"), 0, false, 0),
	}
	var ts []outTask
	for i, f := range calls {
		k := uint64(100 + i)
		f.cur.Store(k)
		ts = append(ts, outTask{k: k, f: f, attempt: uint32(i % 2)})
	}
	calls[4].cur.Store(999) // moved on since it was queued: left out
	b := roundTrip(t, taskBatch(ts).Message, &protos.TaskBatch{})
	c := b.GetColumns()
	assert.Equal(t, []uint64{100, 101, 102, 103}, c.GetIds())
	assert.Equal(t, []string{"noop", "echo"}, c.GetTypes())
	assert.Equal(t, []string{"work", "other"}, c.GetPools())
	assert.Equal(t, []uint32{0, 1, 0, 1}, c.GetAttempts())
	cols, err := readTaskColumns(c)
	require.NoError(t, err)
	for i, f := range calls[:4] {
		got := cols.task(i)
		assert.Equal(t, f.typ, got.Type, "task %d", i)
		assert.Equal(t, f.pool, got.Pool, "task %d", i)
		assert.Equal(t, f.key, got.Key, "task %d", i)
		assert.Equal(t, f.priority, got.Priority, "task %d", i)
		assert.Equal(t, f.idempotent, got.Idempotent, "task %d", i)
		if f.payload == nil {
			assert.Nil(t, got.Payload, "task %d", i)
		} else {
			assert.Equal(t, f.payload, got.Payload, "task %d", i)
			assert.Equal(t, len(got.Payload), cap(got.Payload), "task %d: an append cannot reach the next payload", i)
		}
		if f.x != nil {
			assert.InDelta(t, time.Hour, got.Timeout, float64(time.Minute), "task %d", i)
		} else {
			assert.Zero(t, got.Timeout, "task %d", i)
		}
	}

	t.Run("plain tasks leave their columns empty", func(t *testing.T) {
		f := mk("noop", "work", "", nil, 0, false, 0)
		f.cur.Store(1)
		c := taskBatch([]outTask{{k: 1, f: f}}).Message.(*protos.TaskBatch).GetColumns()
		assert.Equal(t, &protos.TaskColumns{Ids: []uint64{1}, Types: []string{"noop"}, Pools: []string{"work"}}, c)
	})

	t.Run("results", func(t *testing.T) {
		boom := fmt.Errorf("%w: boom", actors.ErrTimeout)
		rs := []outResult{
			{id: 1, res: actors.Result{Output: []byte("out"), Worker: "w1", Queued: time.Millisecond, Run: 2 * time.Millisecond}},
			{id: 2, res: actors.Result{Err: boom}},
			{sid: "3", res: actors.Result{Output: []byte("legacy"), Worker: "w2"}},
			{id: 4, res: actors.Result{Worker: "w1"}},
			{id: 5, res: actors.Result{Err: actors.ErrQueueFull}},
		}
		b := roundTrip(t, resultBatch(rs).Message, &protos.ResultBatch{})
		require.Len(t, b.GetResults(), 1)
		assert.Equal(t, "3", b.GetResults()[0].GetTaskId())
		assert.Equal(t, []string{"w1"}, b.GetColumns().GetWorkers())
		got := map[uint64]actors.Result{}
		require.NoError(t, readResultColumns(b.GetColumns(), func(id uint64, r actors.Result) { got[id] = r }))
		require.Len(t, got, 4)
		assert.Equal(t, actors.Result{Output: []byte("out"), Worker: "w1", Queued: time.Millisecond, Run: 2 * time.Millisecond}, got[1])
		assert.ErrorIs(t, got[2].Err, actors.ErrTimeout)
		assert.Contains(t, got[2].Err.Error(), "boom")
		assert.Nil(t, got[2].Output)
		assert.Equal(t, actors.Result{Worker: "w1"}, got[4])
		assert.ErrorIs(t, got[5].Err, actors.ErrQueueFull)
		assert.True(t, refusedUnrun(got[5]))
	})

	t.Run("results with errors in any order", func(t *testing.T) {
		c := &protos.ResultColumns{Ids: []uint64{1, 2, 3}, ErrorIndex: []uint32{2, 0},
			Errors: []*protos.TaskError{{Code: protos.ErrorCode_ERROR_CODE_TIMEOUT}, {Code: protos.ErrorCode_ERROR_CODE_PANIC}}}
		got := map[uint64]actors.Result{}
		require.NoError(t, readResultColumns(c, func(id uint64, r actors.Result) { got[id] = r }))
		assert.ErrorIs(t, got[1].Err, actors.ErrPanic)
		assert.NoError(t, got[2].Err)
		assert.ErrorIs(t, got[3].Err, actors.ErrTimeout)
	})

	t.Run("malformed columns", func(t *testing.T) {
		tasks := []struct {
			name string
			c    *protos.TaskColumns
			want string
		}{
			{"short column", &protos.TaskColumns{Ids: []uint64{1, 2}, Types: []string{"a"}, Pools: []string{"p"}, Keys: []string{"k"}}, "keys"},
			{"index out of its table", &protos.TaskColumns{Ids: []uint64{1}, Types: []string{"a"}, TypeIndex: []uint32{1}, Pools: []string{"p"}}, "type_index"},
			{"no pool", &protos.TaskColumns{Ids: []uint64{1}, Types: []string{"a"}}, "pool_index"},
			{"payload past the end", &protos.TaskColumns{Ids: []uint64{1}, Types: []string{"a"}, Pools: []string{"p"}, PayloadEnds: []uint64{3}, Payloads: []byte("ab")}, "payload_ends"},
			{"payloads out of order", &protos.TaskColumns{Ids: []uint64{1, 2}, Types: []string{"a"}, Pools: []string{"p"}, PayloadEnds: []uint64{2, 1}, Payloads: []byte("ab")}, "payload_ends"},
		}
		for _, tt := range tasks {
			t.Run(tt.name, func(t *testing.T) {
				_, err := readTaskColumns(tt.c)
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.want)
			})
		}
		results := []struct {
			name string
			c    *protos.ResultColumns
			want string
		}{
			{"short column", &protos.ResultColumns{Ids: []uint64{1, 2}, Run: []int64{1}}, "run"},
			{"worker out of its table", &protos.ResultColumns{Ids: []uint64{1}, WorkerIndex: []uint32{1}}, "worker_index"},
			{"error without its index", &protos.ResultColumns{Ids: []uint64{1}, Errors: []*protos.TaskError{{}}}, "error_index"},
			{"error index past the end", &protos.ResultColumns{Ids: []uint64{1}, ErrorIndex: []uint32{1}, Errors: []*protos.TaskError{{}}}, "error_index"},
			{"output past the end", &protos.ResultColumns{Ids: []uint64{1}, OutputEnds: []uint64{1}}, "output_ends"},
		}
		for _, tt := range results {
			t.Run(tt.name, func(t *testing.T) {
				err := readResultColumns(tt.c, func(uint64, actors.Result) { t.Fatal("a result of a malformed batch") })
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.want)
			})
		}
	})
}

// roundTrip marshals m and unmarshals it into into, as the remote does.
func roundTrip[M proto.Message](t *testing.T, m proto.Message, into M) M {
	t.Helper()
	b, err := proto.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, proto.Unmarshal(b, into))
	return into
}

func TestPending(t *testing.T) {
	p := newPending()
	f1, f2, f3 := &call{}, &call{}, &call{}
	p.put(1, f1)
	p.put(2, f2)
	p.put(33, f3) // same shard as 1
	assert.Equal(t, 3, p.len())
	assert.Same(t, f1, p.take(1))
	assert.Nil(t, p.take(1), "taken twice")
	assert.False(t, p.takeIf(2, f1), "wrong future")
	assert.True(t, p.takeIf(2, f2))
	p.put(4, f1)
	got := p.takeWhere(func(f *call) bool { return f == f3 })
	assert.Equal(t, []*call{f3}, got)
	assert.Equal(t, 1, p.len())
	assert.Same(t, f1, p.take(4))
	assert.Zero(t, p.len())
}

func TestRoom(t *testing.T) {
	r := newRoom()
	r.signal() // nobody armed: nothing to do
	ch := r.arm()
	select {
	case <-ch:
		t.Fatal("woken before a signal")
	default:
	}
	r.signal()
	<-ch
	r.disarm()
	assert.NotEqual(t, ch, r.arm(), "a new channel after a signal")
	r.disarm()
}

func TestRefusedUnrun(t *testing.T) {
	tests := []struct {
		name string
		res  *protos.TaskResult
		want bool
	}{
		{"success", &protos.TaskResult{}, false},
		{"queue full", &protos.TaskResult{Error: &protos.TaskError{Code: protos.ErrorCode_ERROR_CODE_QUEUE_FULL}}, true},
		{"shutting down before it ran", &protos.TaskResult{Error: &protos.TaskError{Code: protos.ErrorCode_ERROR_CODE_SHUTTING_DOWN}}, true},
		{"shutting down while it ran", &protos.TaskResult{Worker: "w1", Error: &protos.TaskError{Code: protos.ErrorCode_ERROR_CODE_SHUTTING_DOWN}}, false},
		{"no pool", &protos.TaskResult{Error: &protos.TaskError{Code: protos.ErrorCode_ERROR_CODE_NO_POOL}}, true},
		{"no handler", &protos.TaskResult{Error: &protos.TaskError{Code: protos.ErrorCode_ERROR_CODE_NO_HANDLER}}, true},
		{"circuit open", &protos.TaskResult{Error: &protos.TaskError{Code: protos.ErrorCode_ERROR_CODE_CIRCUIT_OPEN}}, true},
		{"handler error", &protos.TaskResult{Error: &protos.TaskError{Code: protos.ErrorCode_ERROR_CODE_HANDLER}}, false},
		{"timeout", &protos.TaskResult{Error: &protos.TaskError{Code: protos.ErrorCode_ERROR_CODE_TIMEOUT}}, false},
		{"invalid", &protos.TaskResult{Error: &protos.TaskError{Code: protos.ErrorCode_ERROR_CODE_INVALID_TASK}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, refusedUnrun(resultOf(tt.res)))
		})
	}
	// This member's node refuses with its own errors.
	local := []struct {
		name string
		res  actors.Result
		want bool
	}{
		{"node queue full", actors.Result{Err: fmt.Errorf("%w: pool work", actors.ErrQueueFull)}, true},
		{"node has no handler", actors.Result{Err: fmt.Errorf("%w: %q", actors.ErrNoHandler, "x")}, true},
		{"handler error", actors.Result{Err: errors.New("boom"), Worker: "w1"}, false},
	}
	for _, tt := range local {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, refusedUnrun(tt.res))
		})
	}
}

func TestWeightAndKind(t *testing.T) {
	tests := []struct {
		name string
		pl   *protos.PoolLoad
		w    int
		kind actors.Kind
	}{
		{"idle", &protos.PoolLoad{Capacity: 100, Kind: protos.WorkerKind_WORKER_KIND_IO}, 100, actors.KindIO},
		{"busy", &protos.PoolLoad{Capacity: 100, InFlight: 60, QueueDepth: 30, Kind: protos.WorkerKind_WORKER_KIND_MIXED}, 10, actors.KindMixed},
		{"full", &protos.PoolLoad{Capacity: 100, InFlight: 64, QueueDepth: 50}, 1, actors.KindCPU},
		{"huge", &protos.PoolLoad{Capacity: 1 << 30, Kind: protos.WorkerKind_WORKER_KIND_PROCESS}, router.MaxWeight, actors.KindProcess},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.w, weight(tt.pl))
			assert.Equal(t, tt.kind, kindOf(tt.pl))
		})
	}
}

func TestTryPickAvoids(t *testing.T) {
	a, b := &peer{name: "a", routee: 1}, &peer{name: "b", routee: 2}
	s := router.NewRoundRobin()
	r := &route{pool: "p", strategy: s}
	targets := map[int]*target{1: {peer: a}, 2: {peer: b}}
	r.targets.Store(&targets)
	for _, p := range []*peer{a, b} {
		require.NoError(t, s.Add(router.Routee{ID: p.routee, Capacity: 10}))
		s.SetAvailable(p.routee, true)
	}
	for i := 0; i < 4; i++ {
		tg, ok := tryPick(r, 0, a)
		require.True(t, ok)
		assert.Same(t, b, tg.peer, "pick %d", i)
	}
	assert.Equal(t, 0, s.InFlight(1), "the extra slot on a was given back")
	assert.Equal(t, 4, s.InFlight(2))

	a.lost.Store(true)
	s.SetAvailable(2, false)
	_, ok := tryPick(r, 0, nil)
	assert.False(t, ok, "a lost peer is never picked")
	assert.Equal(t, 0, s.InFlight(1))
}

func TestMemberLostTellsSentFromNotSent(t *testing.T) {
	p := &peer{name: "b", address: "127.0.0.1:7002"}
	sent := memberLost(p, "lost its connection", true)
	unsent := memberLost(p, "left", false)
	for _, err := range []error{sent, unsent} {
		assert.ErrorIs(t, err, ErrMemberLost)
		assert.ErrorIs(t, err, actors.ErrWorkerCrashed)
	}
	assert.ErrorIs(t, sent, ErrNoAnswer)
	assert.NotErrorIs(t, sent, ErrNotSent)
	assert.Contains(t, sent.Error(), "outcome is unknown")
	assert.ErrorIs(t, unsent, ErrNotSent)
	assert.NotErrorIs(t, unsent, ErrNoAnswer)
	assert.Contains(t, unsent.Error(), "did not run")
}

// capture is a local process that keeps what it is sent.
type capture struct{ msgs chan any }

func (c *capture) SendUserMessage(_ *actor.PID, m any) { c.msgs <- actor.UnwrapEnvelopeMessage(m) }
func (c *capture) SendSystemMessage(*actor.PID, any)   {}
func (c *capture) Stop(*actor.PID)                     {}

// TestInboxReadsBothForms sends task batches to a member's inbox from a
// local process standing for another member's collector: tasks in the
// envelope form get TaskResults, tasks in columns get ResultColumns, each
// exactly once, and a malformed batch gets refusals, not silence.
func TestInboxReadsBothForms(t *testing.T) {
	m, err := NewMember(WithName("inbox"), WithNodeOptions(
		actors.WithPool(actors.PoolConfig{Name: "work", Workers: 2}),
		actors.WithHandler("echo", func(_ context.Context, p []byte) ([]byte, error) { return p, nil }),
	))
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		require.NoError(t, m.Shutdown(ctx))
	})
	c := &capture{msgs: make(chan any, 100)}
	m.sys.ProcessRegistry.Add(c, "capture")
	from := m.sys.NewLocalPID("capture")
	inbox := m.sys.NewLocalPID(inboxName)

	// results gathers n results: the relay posts tokens to the local
	// process, which is handed the token itself (a remote one would
	// serialize it on its way).
	results := func(t *testing.T, n int) (map[string]*protos.TaskResult, map[uint64]actors.Result) {
		t.Helper()
		byID, bySID := map[uint64]actors.Result{}, map[string]*protos.TaskResult{}
		timeout := time.After(20 * time.Second)
		for len(byID)+len(bySID) < n {
			select {
			case msg := <-c.msgs:
				tok, ok := msg.(remote.RootSerializable)
				require.True(t, ok, "got %T", msg)
				w, err := tok.Serialize()
				require.NoError(t, err)
				b := w.(wireMsg).Message.(*protos.ResultBatch)
				for _, r := range b.GetResults() {
					require.NotContains(t, bySID, r.GetTaskId(), "a second result")
					bySID[r.GetTaskId()] = r
				}
				require.NoError(t, readResultColumns(b.GetColumns(), func(id uint64, r actors.Result) {
					require.NotContains(t, byID, id, "a second result")
					byID[id] = r
				}))
			case <-timeout:
				t.Fatalf("%d results of %d within 20s", len(byID)+len(bySID), n)
			}
		}
		return bySID, byID
	}

	t.Run("both forms", func(t *testing.T) {
		m.sys.Root.RequestWithCustomSender(inbox, &protos.TaskBatch{
			Tasks: []*protos.TaskEnvelope{
				{Id: "a", Type: "echo", Pool: "work", Payload: []byte("hi")},
				{Id: "b", Type: "nope", Pool: "work"},
			},
			Columns: &protos.TaskColumns{
				Ids: []uint64{7, 8, 9}, Types: []string{"echo"}, Pools: []string{"work", "none"}, PoolIndex: []uint32{0, 0, 1},
				Payloads: []byte("yoyo!"), PayloadEnds: []uint64{2, 5, 5},
			},
		}, from)
		bySID, byID := results(t, 5)
		assert.Equal(t, []byte("hi"), bySID["a"].GetOutput())
		assert.NotEmpty(t, bySID["a"].GetWorker())
		assert.Equal(t, protos.ErrorCode_ERROR_CODE_NO_HANDLER, bySID["b"].GetError().GetCode())
		require.NoError(t, byID[7].Err)
		assert.Equal(t, []byte("yo"), byID[7].Output)
		assert.NotEmpty(t, byID[7].Worker)
		assert.Equal(t, []byte("yo!"), byID[8].Output)
		assert.ErrorIs(t, byID[9].Err, actors.ErrNoPool)
		assert.True(t, refusedUnrun(byID[9]), "the sender places it elsewhere")
	})

	t.Run("malformed columns", func(t *testing.T) {
		m.sys.Root.RequestWithCustomSender(inbox, &protos.TaskBatch{Columns: &protos.TaskColumns{
			Ids: []uint64{1, 2}, Types: []string{"echo"}, Pools: []string{"work"}, Keys: []string{"only one"},
		}}, from)
		_, byID := results(t, 2)
		for _, id := range []uint64{1, 2} {
			assert.ErrorIs(t, byID[id].Err, actors.ErrInvalidTask)
			assert.Contains(t, byID[id].Err.Error(), "keys")
		}
	})
}

// TestSaturate32: a pool's counts go on the wire as 32 bits; the largest
// pool's capacity does not fit, and must not wrap to a small number.
func TestSaturate32(t *testing.T) {
	assert.Equal(t, uint32(math.MaxUint32), saturate32(actors.MaxPoolWorkers*actors.MaxConcurrency+1))
	assert.Equal(t, uint32(7), saturate32(7))
	assert.Zero(t, saturate32(-1))
}
