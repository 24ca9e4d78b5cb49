package actors

import (
	"fmt"
	"time"
)

// ProcessConfig describes the child processes of a KindProcess pool.
type ProcessConfig struct {
	// Command is the path of the worker binary; required.
	Command string
	// Args are the command's arguments.
	Args []string
	// Env is the child's environment ("KEY=value"); nil means the parent's.
	Env []string
	// Dir is the child's working directory; empty means the parent's.
	Dir string
	// StartTimeout bounds the start-up handshake; zero means 10s.
	StartTimeout time.Duration
}

func (c ProcessConfig) withDefaults() ProcessConfig {
	if c.StartTimeout == 0 {
		c.StartTimeout = 10 * time.Second
	}
	return c
}

func (c *ProcessConfig) validate(field string) error {
	if c.Command == "" {
		return configError(field+".Command", "is empty; allowed: the path of a worker binary")
	}
	return nil
}

// newProcessBackend starts the child process of one worker incarnation and
// waits for its handshake.
func newProcessBackend(p *pool, w *worker) (backend, error) {
	return nil, fmt.Errorf("process workers are not built yet")
}
