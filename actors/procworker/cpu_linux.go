package procworker

import (
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

const cpuTimeSupported = true

// clockThreadCPUTime is CLOCK_THREAD_CPUTIME_ID: the calling thread's CPU
// time, user and system.
const clockThreadCPUTime = 3

// threadCPU returns the calling thread's CPU time. The kernel does not
// serve this clock from the vDSO: it is one system call.
func threadCPU() time.Duration {
	var ts syscall.Timespec
	_, _, errno := syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0)
	if errno != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}

func lockThread()   { runtime.LockOSThread() }
func unlockThread() { runtime.UnlockOSThread() }
