package actors

import "fmt"

// Promise completes a Future whose task runs somewhere a Node does not
// see: on another member of a cluster, or on a node behind a network
// client. Such a Future behaves as one a Node returns (Wait, Done, Result,
// Cancel, ID and the package's sentinel errors), so callers handle local
// and remote work alike.
//
// Complete may be called from any goroutine, any number of times: the
// first call records the result, later calls do nothing.
type Promise struct {
	f *Future
}

// promise is what a Future made by NewPromise holds besides its result.
type promise struct {
	onCancel     func() bool
	worker, node string // of the result, once complete
}

// NewPromise returns a pending Future and the Promise that completes it.
// id is what Future.ID returns. onCancel, when not nil, is what
// Future.Cancel calls while the Future is pending: it should stop the task
// where it runs, complete the Promise (with an error wrapping ErrCanceled)
// and report whether it did. A nil onCancel makes Cancel complete the
// Promise with ErrCanceled itself.
func NewPromise(id string, onCancel func() bool) *Promise {
	f := &Future{x: &futureExtra{id: id, promise: &promise{onCancel: onCancel}}}
	return &Promise{f: f}
}

// Future returns the Future the Promise completes.
func (p *Promise) Future() *Future { return p.f }

// Complete records r as the Future's result unless it has one, and reports
// whether this call recorded it. r.Worker and r.Node are kept as given;
// r.Queued, r.Run and r.CPU too.
func (p *Promise) Complete(r Result) bool {
	f := p.f
	if !f.state.CompareAndSwap(jobPending, jobClaimed) {
		return false
	}
	f.out, f.value, f.err = r.Output, r.Value, r.Err
	f.queuedNs, f.runNs, f.x.cpuNs = int64(r.Queued), int64(r.Run), int64(r.CPU)
	pr := f.x.promise
	pr.worker, pr.node = r.Worker, r.Node
	f.state.Store(jobDone)
	if old := f.wait.Swap(closedWaiter); old != nil && old != closedWaiter {
		close(old.ch)
	}
	return true
}

// cancel is Future.Cancel for a Future made by NewPromise.
func (pr *promise) cancel(f *Future) bool {
	if pr.onCancel != nil {
		return pr.onCancel()
	}
	return (&Promise{f: f}).Complete(Result{Err: fmt.Errorf("%w: by Future.Cancel", ErrCanceled)})
}
