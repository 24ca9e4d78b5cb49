// Package bench measures task pools beside baselines in the same run: it is
// what `drover bench` prints.
//
// # Rows
//
// Run measures every workload against every impl and returns one Row per
// pair: {workload, impl, tasks_per_sec, p50_ns, p99_ns, allocs_per_task,
// bytes_per_task}. A field that does not apply to a workload is 0.
//
// # Workloads
//
//   - empty: an empty task, 1,000 in flight, each result back with the
//     submitter: the cost of dispatch.
//   - cpu10us: a task that spins for about 10 µs, 1,000 in flight. The spin
//     loop is calibrated once per run, so a task does a fixed amount of work
//     and never polls a clock.
//   - sleep1ms: 64 workers, each task sleeps 1 ms, 1,000 in flight.
//   - latency: one task in flight at a time; p50_ns and p99_ns are
//     submit-to-result times.
//   - queue_memory: every worker blocked, N empty tasks queued, the heap
//     plus goroutine stacks measured after a GC; done with N/2 and N tasks on
//     fresh pools and the difference divided by N/2, so fixed costs (an
//     actor system) cancel while a queue sized up front (a buffered channel)
//     still counts: bytes_per_task and allocs_per_task only.
//   - spawn10k: start a pool of 10,000 workers and have each run one task;
//     tasks_per_sec is workers started per second, allocs and bytes are per
//     worker.
//
// # Impls
//
// drover is Drover's own Submit path: a node (actors.NewNode) with one
// KindCPU pool of the workload's workers, a queue of MaxInFlight tasks, a
// Task{Func: ...} per Submit and the task's Future waited on by the
// submitter. drover_lean is Drover's lean path on the same node: an
// actors.Submitter (reused task records, no heap object per task), a
// registered handler whose 8-byte payload names the harness's func, and
// results taken by Next in the order tasks end.
//
// The baselines are chan (a plain Go channel worker pool with a reply per
// task: the limit), ants (ants v2), pond (pond v2 with its task futures),
// protoactor_future (protoactor's round-robin router of worker actors, a
// RequestFuture per task) and protoactor_collector (the same router, workers
// reply to a collector actor). A contender is an Impl: a name and a Start
// function returning a Pool. Contenders of this package are listed in Impls;
// others are passed in Options.Extra.
//
// # Fairness
//
// Every impl runs the same task values, with the same number of workers and
// the same number of tasks in flight, and every result travels back to the
// submitting goroutine by the impl's own means (a channel, a future, a
// collector). Each throughput measurement follows a warm-up of a tenth as
// many tasks on the same pool. Allocation figures are runtime.MemStats
// deltas over the measured part divided by the tasks, and include whatever
// the impl's background goroutines allocate meanwhile.
//
// # Concurrency
//
// Run measures the whole process: its figures mean something only when
// nothing else runs beside it, in the process or on the machine. The
// functions of this package are otherwise safe to call concurrently.
package bench
