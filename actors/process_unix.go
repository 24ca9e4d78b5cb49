//go:build unix

package actors

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts the child in a process group of its own: a signal
// meant for the node's group (a terminal's Ctrl-C) does not reach it, and
// the node can signal the child with everything it started.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// terminate asks the child's process group to stop (SIGTERM).
func (c *child) terminate() { c.signalGroup(syscall.SIGTERM) }

// forceKill kills the child's process group (SIGKILL).
func (c *child) forceKill() { c.signalGroup(syscall.SIGKILL) }

func (c *child) signalGroup(sig syscall.Signal) {
	select {
	case <-c.exited:
		return // reaped: its ids may belong to someone else by now
	default:
	}
	if err := syscall.Kill(-c.pid, sig); err != nil {
		// Not a group leader after all (or already gone): the process alone.
		_ = c.cmd.Process.Signal(sig)
	}
}
