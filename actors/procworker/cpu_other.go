//go:build !linux

package procworker

import "time"

// Per-thread CPU clocks are read on Linux only; elsewhere no CPU time is
// reported.
const cpuTimeSupported = false

func threadCPU() time.Duration { return 0 }
func lockThread()              {}
func unlockThread()            {}
