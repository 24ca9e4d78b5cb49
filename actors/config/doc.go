// Package config reads a Drover node's configuration file and turns it into
// the options of actors.NewNode.
//
// # The file
//
// The file is HCL (native syntax). Every setting is optional; a file may be
// empty, which gives a node named "drover" with one CPU pool, logging at
// info as text, and its admin endpoint on 127.0.0.1:9090.
//
//	name          = "edge-1"          # the node's name
//	drain_timeout = "30s"             # how long SIGINT/SIGTERM wait for tasks
//
//	log {
//	  level  = "info"                 # trace, debug, info, warn, error, off
//	  format = "text"                 # text, json
//	}
//
//	admin {
//	  address = "127.0.0.1:9090"      # /metrics, /status, /healthz, /readyz
//	}
//
//	limits {                          # parsed and checked; enforced later
//	  memory_soft = "1GiB"
//	  memory_hard = "2GiB"
//	  cpu_percent = 80
//	}
//
//	pool "cpu" {                      # one block per pool, in order
//	  kind           = "cpu"          # cpu, io, mixed, process
//	  workers        = 4
//	  concurrency    = 1
//	  strategy       = "round-robin"  # see router.Names
//	  queue_capacity = 1024
//	  task_timeout   = "5s"           # "0s" for none
//	  stable_period  = "1s"
//	  restarts {
//	    max    = 100                  # 0: never restart
//	    window = "10s"
//	  }
//	  backoff {
//	    initial    = "10ms"
//	    max        = "5s"
//	    multiplier = 2
//	    jitter     = 0.2              # 0: none
//	  }
//	  process  {                      # kind "process" only, and required there
//	    command       = "/usr/local/bin/worker"
//	    args          = ["--quiet"]
//	    env           = { LOG_LEVEL = "debug" }
//	    dir           = "/var/lib/worker"
//	    start_timeout = "10s"
//	  }
//	}
//
// Durations are strings in Go's syntax ("250ms", "1m30s"); sizes are
// strings with a unit ("512MiB", "2GB") or a number of bytes. A field left
// out takes its default, which for pools is the default of the matching
// actors.PoolConfig field. Within a restarts or backoff block, a field left
// out takes the pool's default (max 100, window 10s; initial 10ms, max 5s,
// multiplier 2, jitter 0.2); there `max = 0` means never restart and
// `jitter = 0` means no jitter.
//
// # Errors
//
// Parse and Load report every problem in the file, not only the first, one
// per line, each as an *Error that names the place, the field, the value as
// written and the values allowed:
//
//	drover.hcl:12:20: pool "cpu": workers is -1; allowed: 1 to 65536
//
// Every one of them matches ErrInvalid with errors.Is.
package config
