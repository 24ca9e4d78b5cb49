package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/drover-go/drover/actors"
)

// droverStopTimeout bounds the drain of a Drover node on Close: every task
// has been awaited by then, so the drain has nothing left to wait for.
const droverStopTimeout = 10 * time.Second

// droverPoolName names the one pool of a bench node.
const droverPoolName = "bench"

// droverTaskType is the registered task type of the handler variant.
const droverTaskType = "bench"

// droverImpl is Drover's real Submit path with results: a node with one
// KindCPU pool of Workers workers (one task at a time each, like the other
// contenders' goroutines) and a queue of MaxInFlight tasks, each Submit a
// Task{Func: ...} and Await waiting on the oldest Future.
//
// The Func variant is the one in the table. Measured beside the
// registered-handler variant (BenchmarkDroverVariants, and
// TestPrintDroverVariants for the whole suite), the two ran within the
// machine's noise of each other on every workload (1.1-1.2M tasks/s on
// empty); the handler variant saves the closure (1 allocation, 16 B per
// task) but needs the slot table, which the queue_memory figure would
// count, and a Go caller with a local task takes the Func path.
func droverImpl() Impl {
	return Impl{Name: "drover", Start: startDroverFunc}
}

// droverHandlerImpl is the registered-handler variant: tasks name a handler
// by type and carry an 8-byte payload, the index of a slot that holds the
// harness's func, since a payload cannot hold a func. The slots are
// allocated once, at Start, one per task in flight.
func droverHandlerImpl() Impl {
	return Impl{Name: "drover_handler", Start: startDroverHandler}
}

var _ Pool = (*droverPool)(nil)

// droverPool is a Drover node and the futures of the tasks in flight,
// awaited oldest first.
type droverPool struct {
	node    *actors.Node
	futures fifo[*actors.Future]
	closed  bool

	// The handler variant only: slot i holds the func of the task whose
	// payload is payloads[i]. A slot is reused MaxInFlight submits later,
	// by when its task has been awaited (awaits go oldest first).
	slots    []func()
	payloads [][]byte
	next     int
}

func startDroverNode(cfg Config, opts ...actors.Option) (*actors.Node, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	opts = append(opts, actors.WithPool(actors.PoolConfig{
		Name:          droverPoolName,
		Kind:          actors.KindCPU,
		Workers:       cfg.Workers,
		Concurrency:   1,
		QueueCapacity: cfg.MaxInFlight,
	}))
	return actors.NewNode(opts...)
}

func startDroverFunc(cfg Config) (Pool, error) {
	node, err := startDroverNode(cfg)
	if err != nil {
		return nil, err
	}
	return &droverPool{node: node, futures: newFIFO[*actors.Future](cfg.MaxInFlight)}, nil
}

func startDroverHandler(cfg Config) (Pool, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := &droverPool{
		futures:  newFIFO[*actors.Future](cfg.MaxInFlight),
		slots:    make([]func(), cfg.MaxInFlight),
		payloads: slotPayloads(cfg.MaxInFlight),
	}
	// The handler reads its slot after the pool accepted the task, which
	// happens after Submit wrote it; the slot is written again only after
	// the task's future is done.
	run := func(_ context.Context, payload []byte) ([]byte, error) {
		p.slots[binary.LittleEndian.Uint64(payload)]()
		return nil, nil
	}
	node, err := startDroverNode(cfg, actors.WithHandler(droverTaskType, run))
	if err != nil {
		return nil, err
	}
	p.node = node
	return p, nil
}

func (p *droverPool) Submit(task func()) error {
	if p.closed {
		return ErrClosed
	}
	var t actors.Task
	if p.slots == nil {
		t = actors.Task{Pool: droverPoolName, Func: func(context.Context) (any, error) {
			task()
			return nil, nil
		}}
	} else {
		i := p.next
		p.next = (p.next + 1) % len(p.slots)
		p.slots[i] = task
		t = actors.Task{Pool: droverPoolName, Type: droverTaskType, Payload: p.payloads[i]}
	}
	f, err := p.node.Submit(context.Background(), t)
	if err != nil {
		return err
	}
	p.futures.push(f)
	return nil
}

func (p *droverPool) Await() error {
	_, err := p.futures.pop().Wait(context.Background())
	return err
}

func (p *droverPool) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	return stopDroverNode(p.node)
}

// stopDroverNode drains a bench node: every task has been awaited by then.
func stopDroverNode(n *actors.Node) error {
	ctx, cancel := context.WithTimeout(context.Background(), droverStopTimeout)
	defer cancel()
	if _, err := n.Shutdown(ctx); err != nil {
		return fmt.Errorf("bench: drover shutdown: %w", err)
	}
	return nil
}

// slotPayloads returns n 8-byte payloads, the i-th holding i: the index of
// the slot where a handler variant finds the harness's func.
func slotPayloads(n int) [][]byte {
	payloads := make([][]byte, n)
	backing := make([]byte, 8*n)
	for i := range payloads {
		payloads[i] = backing[8*i : 8*i+8 : 8*i+8]
		binary.LittleEndian.PutUint64(payloads[i], uint64(i))
	}
	return payloads
}

// droverLeanImpl is Drover's lean path: an actors.Submitter, which reuses
// its task records, with a registered handler and an 8-byte payload naming
// the slot of the harness's func (a payload cannot hold a func). The
// Completion's tag is the slot, which Await frees; results come back in the
// order tasks end.
func droverLeanImpl() Impl {
	return Impl{Name: "drover_lean", Start: startDroverLean}
}

var _ Pool = (*droverLeanPool)(nil)

type droverLeanPool struct {
	node    *actors.Node
	sub     *actors.Submitter
	slots   []func()
	payload []byte   // 8 bytes per slot: slot i's payload names i
	free    []uint32 // slots whose task has been awaited
	closed  bool
}

func startDroverLean(cfg Config) (Pool, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	// The harness's own bookkeeping is 20 B per slot (a func, a payload,
	// a free-list entry), which queue_memory counts with the pool's.
	p := &droverLeanPool{
		slots:   make([]func(), cfg.MaxInFlight),
		payload: make([]byte, 8*cfg.MaxInFlight),
		free:    make([]uint32, cfg.MaxInFlight),
	}
	for i := range p.free {
		p.free[i] = uint32(cfg.MaxInFlight - 1 - i)
		binary.LittleEndian.PutUint64(p.payload[8*i:], uint64(i))
	}
	run := func(_ context.Context, payload []byte) ([]byte, error) {
		p.slots[binary.LittleEndian.Uint64(payload)]()
		return nil, nil
	}
	node, err := startDroverNode(cfg, actors.WithHandler(droverTaskType, run))
	if err != nil {
		return nil, err
	}
	if p.sub, err = node.NewSubmitter(cfg.MaxInFlight); err != nil {
		_, _ = node.Shutdown(context.Background())
		return nil, err
	}
	p.node = node
	return p, nil
}

func (p *droverLeanPool) Submit(task func()) error {
	if p.closed {
		return ErrClosed
	}
	i := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	p.slots[i] = task
	err := p.sub.Submit(context.Background(), actors.Task{Pool: droverPoolName, Type: droverTaskType, Payload: p.payload[8*i : 8*i+8 : 8*i+8]}, uint64(i))
	if err != nil {
		p.free = append(p.free, i)
	}
	return err
}

func (p *droverLeanPool) Await() error {
	c, err := p.sub.Next(context.Background())
	if err != nil {
		return err
	}
	p.free = append(p.free, uint32(c.Tag))
	return c.Result.Err
}

func (p *droverLeanPool) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	return stopDroverNode(p.node)
}
