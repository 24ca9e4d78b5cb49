package procworker

import (
	"os/exec"

	"golang.org/x/sys/unix"
)

// reap waits for the child to exit, kills its process group, and reaps it.
// The group is killed between the exit and the reaping: the unreaped
// leader keeps its process id, and with it the group's id, in use, so the
// SIGKILL cannot reach a group that reused the id; and, the group having
// no leader left, whatever the child started dies with it, however the
// child ended.
func reap(cmd *exec.Cmd) error {
	pid := cmd.Process.Pid
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			break
		}
	}
	_ = unix.Kill(-pid, unix.SIGKILL) // ESRCH: the group is empty already
	return cmd.Wait()
}
