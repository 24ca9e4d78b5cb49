//go:build !unix

package procworker

import (
	"os"
	"os/exec"
)

// Without signals there is no gentler way to stop a child than killing it.
var sigTerm, sigKill os.Signal = os.Kill, os.Kill

func setProcessGroup(*exec.Cmd) {}

func (c *child) signal(os.Signal) {
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Kill()
}
