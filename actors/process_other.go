//go:build !unix

package actors

import "os/exec"

func setProcessGroup(*exec.Cmd) {}

// terminate stops the child; without signals there is no gentler way.
func (c *child) terminate() { c.forceKill() }

func (c *child) forceKill() {
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Kill()
}
