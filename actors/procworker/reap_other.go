//go:build !linux

package procworker

import "os/exec"

// reap waits for the child to exit and reaps it. Outside Linux the process
// group is not killed after the child exits: without waitid's WNOWAIT the
// group's id could be reused between the exit and the signal. Whatever the
// child started is signalled only by the stop sequence, while it runs.
func reap(cmd *exec.Cmd) error { return cmd.Wait() }
