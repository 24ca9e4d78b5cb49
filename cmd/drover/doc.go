// Command drover runs Drover, the actor-model process manager, from the
// command line.
//
// # Commands
//
//	drover demo [flags]   run the main job on an in-process node: CPU, I/O,
//	                      mixed, dynamic and process pools, a seeded workload
//	                      with injected faults, a live progress line and a
//	                      final report
//	drover run --config FILE [--admin ADDR]
//	                      run a long-lived node from a configuration file (see
//	                      examples/node/drover.hcl and package actors/config),
//	                      with its admin HTTP endpoint: /metrics, /status,
//	                      /healthz, /readyz
//	drover run --check FILE
//	                      validate a configuration file and exit
//	drover --version      the version and commit built, and Go's version
//	drover status [--addr ADDR] [--json]
//	                      show a running node's pools, workers, queues and
//	                      circuit breakers, read from its admin endpoint
//	                      (default 127.0.0.1:9090)
//	drover bench [--quick] [--json] [--workloads a,b] [--impls x,y]
//	                      run the benchmark suite of package bench, Drover
//	                      beside its baselines; --quick takes under a minute
//
// A hidden command, drover worker, serves the demo's task types ("hash",
// "fetch", "resize", the same handler functions the in-process pools run) as
// a process worker over stdin and stdout (package actors/procworker): the
// demo's process pool starts its children as this executable with the
// argument "worker", so that it needs no other binary. After its node's
// shutdown the demo checks, on Linux from /proc, that no worker process is
// left.
//
// Every command logs to stderr through go-hclog at the level of the global
// --log-level flag (default info; for run, the configuration file's level
// unless the flag is given). Reports go to stdout; --json makes a command
// print exactly one JSON object there, for other tools to read.
//
// # Built-in task types
//
// A node started by drover run serves these task types, so that it does
// something without code:
//
//	echo   the result is the payload
//	sleep  the payload is a duration ("250ms"); the task waits that long, or
//	       until its context ends, and its result is empty
//	hash   the result is the SHA-256 of the payload, in lower-case hex
//
// # Signals
//
// The first SIGINT or SIGTERM winds a command down: demo stops submitting
// and reports, bench stops after the measurement in progress and prints the
// rows measured, run drains its node (it stops taking tasks, /readyz turns
// 503, queued and running tasks get the file's drain_timeout to finish),
// logs a "node stopped" report and exits 0. A second signal during run's
// drain makes it exit at once with status 130. SIGHUP makes run read its
// file again and apply what can change while the node runs (see
// config.Reload); a file that is not valid changes nothing.
//
// # Exit status
//
//	0    the command did its job
//	1    it ran and failed (for demo: an accepted task never got a result,
//	     or a worker process outlived the node;
//	     for run: the admin address could not be bound; for status: the
//	     node could not be reached; for bench: a measurement failed or the
//	     run was interrupted)
//	2    bad usage: an unknown command or flag, a flag value out of range or
//	     an unknown name; for run, a configuration file that cannot be read
//	     or is not valid, with every problem on a line of its own as
//	     file:line:column: field is value; allowed: ...
//	130  run was stopped by a second signal before its drain finished
//
// # Layout
//
// main.go holds the root command, the exit statuses and the helpers that
// every subcommand shares; each subcommand lives in its own file (demo.go,
// run.go, status.go, bench.go, worker.go) and is added to the root by
// newRootCmd. handlers.go holds run's built-in task types, workload.go the
// demo's.
package main
