// Command drover runs Drover, the actor-model process manager, from the
// command line.
//
// # Commands
//
//	drover demo [flags]   run the main job on an in-process node: CPU, I/O and
//	                      mixed pools, a seeded workload with injected faults,
//	                      a live progress line and a final report
//
// Every command logs to stderr through go-hclog at the level of the global
// --log-level flag (default info). Reports go to stdout; --json makes a
// command print exactly one JSON object there, for other tools to read.
//
// # Exit status
//
//	0  the command did its job
//	1  it ran and failed (for demo: an accepted task never got a result)
//	2  bad usage: an unknown command or flag, or a flag value out of range;
//	   the message names the flag and the allowed range
//
// # Layout
//
// main.go holds the root command, the exit statuses and the helpers that
// every subcommand shares; each subcommand lives in its own file (demo.go)
// and is added to the root by newRootCmd.
package main
