//go:build unix

package procworker

import (
	"os"
	"os/exec"
	"syscall"
)

var (
	sigTerm os.Signal = syscall.SIGTERM
	sigKill os.Signal = syscall.SIGKILL
)

// setProcessGroup puts the child in a process group of its own: a signal
// meant for the parent's group (a terminal's Ctrl-C) does not reach it, and
// the parent can signal the child with everything it started.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// signal sends sig to the child's process group while the child is not
// reaped (its ids may belong to someone else after).
func (c *child) signal(sig os.Signal) {
	select {
	case <-c.exited:
		return
	default:
	}
	if err := syscall.Kill(-c.pid, sig.(syscall.Signal)); err != nil {
		// Not a group leader after all (or already gone): the process alone.
		_ = c.cmd.Process.Signal(sig)
	}
}
