// Package config reads a Drover node's configuration file and turns it into
// the options of actors.NewNode (NodeOptions), and, for a node with a
// cluster block, of cluster.NewMember (ClusterOptions).
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
//	limits {                          # enforced as actors.ResourceLimits says
//	  memory_soft = "1GiB"            # over it: low priorities are refused
//	  memory_hard = "2GiB"            # over it: only critical tasks are taken
//	  cpu_percent = 80
//	  interval    = "1s"              # between samples
//	  window      = "5s"              # CPU is averaged over it
//	}
//
//	cluster {                         # optional: run the node as a cluster member
//	  name         = "drover"         # the cluster's name
//	  bind         = "127.0.0.1:0"    # the member's remote (gRPC); port 0 picks one
//	  advertise    = "10.0.0.1:7000"  # what other members dial, if not bind
//	  strategy     = "least-busy"     # picks a member per task; see router.Names
//	  report_every = "200ms"          # load reports to the other members
//	  lost_after   = "4s"             # a silent member is lost; default 20 reports
//	  automanaged {                   # the default provider: no server needed
//	    port    = 6331                # this member's HTTP port; 0: a member alone
//	    seeds   = ["10.0.0.1:6331", "10.0.0.2:6331"] # every member's, this one's too
//	    refresh = "250ms"             # time between polls of the seeds
//	    timeout = "700ms"             # a seed that does not answer in time is dropped
//	  }
//	  # etcd {                        # or etcd, never both
//	  #   endpoints       = ["127.0.0.1:2379"]
//	  #   base_key        = "/drover"
//	  #   lease_ttl       = "3s"      # whole seconds: a dead member goes after it
//	  #   heartbeat       = "1s"      # lease renewal; default lease_ttl / 3
//	  #   request_timeout = "1s"
//	  #   dial_timeout    = "5s"
//	  # }
//	  tls {                           # mutual TLS between members; all three required
//	    ca_file   = "ca.crt"
//	    cert_file = "member.crt"
//	    key_file  = "member.key"
//	  }
//	}
//
//	pool "cpu" {                      # one block per pool, in order
//	  kind           = "cpu"          # cpu, io, mixed, process
//	  workers        = 4
//	  concurrency    = 1
//	  strategy       = "weighted"     # see router.Names
//	  weights        = [3, 1]         # per worker, for "weighted"
//	  queue_capacity = 1024
//	  task_timeout   = "5s"           # "0s" for none
//	  stable_period  = "1s"
//	  stuck_grace    = "1s"
//	  aging          = "500ms"        # "0s": strict priority order
//	  shed           = false
//	  quarantine_after = 3            # 0: never quarantine
//	  restarts {
//	    max    = 100                  # 0: never restart
//	    window = "10s"
//	    scope  = "one-for-one"        # all-for-one, rest-for-one
//	  }
//	  total_restarts {                # all workers together; no bound without it
//	    max    = 300                  # 0: the first crash fails the pool
//	    window = "10s"
//	  }
//	  pool_restarts {                 # the pool's own budget
//	    max    = 3                    # 0: never restart the pool
//	    window = "1m"
//	  }
//	  backoff {
//	    initial    = "10ms"
//	    max        = "5s"
//	    multiplier = 2
//	    jitter     = 0.2              # 0: none
//	  }
//	  health {                        # probes; none without the block
//	    interval          = "1s"
//	    timeout           = "500ms"
//	    failure_threshold = 3
//	  }
//	  breaker {                       # breakers; none without the block
//	    failure_threshold = 5
//	    reset_timeout     = "10s"
//	    half_open_trials  = 1
//	    scope             = "pool-faults" # or all-results
//	  }
//	  retry {                         # for tasks without a policy of their own
//	    max_attempts = 3
//	    backoff { initial = "100ms" }
//	  }
//	  # min_workers = 1, max_workers = 8 make the pool dynamic, and then:
//	  # scale { interval = "250ms", up_utilization = 0.8, up_after = 2,
//	  #         down_utilization = 0.3, cooldown = "5s" }
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
// actors.PoolConfig field, exactly as in code: within a restarts or backoff
// block too, each field left out takes its own default, whatever the others
// are (restarts: max actors.DefaultRestarts, 100, within
// actors.DefaultRestartsWindow, 10s; backoff: supervision.Backoff's,
// initial 10ms, max 5s or initial if larger, multiplier 2, jitter 0.2).
// There `max = 0` means never restart and `jitter = 0` means no jitter.
// The limits of workers, concurrency and queue_capacity are actors'
// (actors.MaxPoolWorkers, MaxConcurrency, MaxQueueCapacity).
//
// Values are literals (strings, numbers, true or false, lists and maps):
// for expressions, function calls and splats are refused before anything
// is evaluated, and a file is at most MaxFileSize bytes and nests at most
// MaxNesting levels, so that no file can make Parse use more than a few
// hundred bytes of memory per byte read.
//
// # Reload
//
// Reload compares a new configuration with the one a node runs and applies
// what can change while it runs (see actors.Node.Reconfigure and
// SetResourceLimits), and lists the rest with the reason.
//
// A cluster block makes the node a member of a cluster (package
// actors/cluster), named after the node. An empty block gives a member
// alone on loopback; members on several machines name each other's
// automanaged ports as seeds, or share etcd. See actors/cluster's package
// doc for how to make test certificates.
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
