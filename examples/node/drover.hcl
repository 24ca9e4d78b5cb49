# A Drover node: run it with
#
#   drover run --config examples/node/drover.hcl
#
# and look at it with `drover status --addr 127.0.0.1:9090`, or at
# http://127.0.0.1:9090/metrics, /status, /healthz and /readyz.
#
# Every setting is optional; what is left out takes the default shown in the
# comment beside it. Durations are Go durations ("250ms", "1m30s").
#
# `drover run --check --config FILE` checks a file without starting a node.
# A running node reads its file again on SIGHUP: worker counts and bounds,
# weights, queue capacity, timeouts, aging, shed, breakers and limits change
# at once, without losing a task; what cannot change while it runs (a
# pool's kind, concurrency, strategy, restarts, process, new or removed
# pools, the name, the admin address, the cluster) is logged with the
# reason and waits for a restart. A file that is not valid changes nothing.
#
# Values are literals: strings, numbers, true/false, lists and maps. For
# expressions and function calls are refused, and a file may be at most
# 128 KiB and nest at most 32 levels deep.

# The node's name: its root actor's name, and the name in /status and logs.
# Letters, digits, '.', '_' and '-'. Default "drover".
name = "example"

# On SIGINT or SIGTERM the node stops taking tasks and lets queued and
# running ones finish for this long; what remains then fails with
# "shutting down". Default "30s".
drain_timeout = "15s"

log {
  level  = "info" # trace, debug, info, warn, error, off. Default "info".
  format = "text" # text or json. Default "text".
}

# The admin HTTP endpoint: /metrics (Prometheus), /status (JSON), /healthz
# and /readyz. Default "127.0.0.1:9090", on loopback only: name another
# interface here (or pass --admin) to expose it, behind what protects it.
admin {
  address = "127.0.0.1:9090"
}

# The task API: other processes submit tasks here (drover submit, curl, the Go
# client in actors/client), over gRPC and HTTP/JSON on one port. Without this
# block (or --api) the node serves none. On loopback it needs no credentials;
# any other address needs token_file or token_env, or a tls block (mutual
# TLS, as the cluster's), or insecure = true.
#
# api {
#   address     = "127.0.0.1:7070"
#   token_env   = "DROVER_TOKEN"   # or token_file = "/etc/drover/token"
#   max_request = "8MiB"           # one request, a stream's batch included. Default "8MiB".
#   rate_limit  = 2000             # tasks per second per connection. Default: none.
#   rate_burst  = 200              # Default: rate_limit.
#   window      = 1024             # unfinished tasks per stream, 1 to 1048576. Default 1024.
#   # tls {
#   #   ca_file   = "ca.crt"
#   #   cert_file = "node.crt"
#   #   key_file  = "node.key"
#   # }
# }

# Resource limits. The node samples its memory (the Go heap plus process
# workers' resident memory) and CPU every interval: over memory_soft, or
# over cpu_percent averaged over window, it refuses low-priority tasks and
# its dynamic pools stop growing; over memory_hard it takes only critical
# tasks. Each change is logged and counted (drover_node_resource_pressure).
# Sizes take B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024).
# Default: no limits.
limits {
  memory_soft = "512MiB" # 1MiB to 1PiB
  memory_hard = "1GiB"   # at least memory_soft
  cpu_percent = 80       # of all the machine's CPUs, 1 to 100
  interval    = "1s"     # between samples, 1ms to 1h. Default "1s".
  window      = "5s"     # CPU is averaged over it, interval to 1h. Default: 5 intervals.
}

# A cluster block runs the node as a member of a cluster: members route
# tasks to each other by their reported load and fail tasks over when a
# member is lost. Without it (as here) the node runs alone. The member takes
# the node's name; /status and `drover status` show the members it sees.
#
# cluster {
#   name         = "drover"         # the cluster's name. Default "drover".
#   bind         = "127.0.0.1:0"    # the member's remote (gRPC); port 0 picks a free one. Default "127.0.0.1:0".
#   advertise    = "10.0.0.1:7000"  # what the others dial, when not bind (NAT, 0.0.0.0). Default: bind's.
#   strategy     = "least-busy"     # picks a member per task: round-robin, weighted, least-busy, random, p2c, consistent-hash
#   report_every = "200ms"          # load reports to the other members, 10ms to 1m. Default "200ms".
#   lost_after   = "4s"             # a member silent this long is lost (its tasks fail over). Default: 20 reports.
#
#   # How members find each other: one provider block. Default: automanaged
#   # with no seeds, a member alone.
#   automanaged {
#     port    = 6331                                 # this member's HTTP port, fixed per member
#     seeds   = ["127.0.0.1:6331", "127.0.0.1:6332"] # every member's port, this one's included
#     refresh = "250ms"                              # time between polls of the seeds. Default "250ms".
#     timeout = "700ms"                              # a seed slower than this is dropped. Default "700ms".
#   }
#   # etcd {                                         # or etcd, for production
#   #   endpoints       = ["127.0.0.1:2379"]
#   #   base_key        = "/drover"                  # Default "/drover".
#   #   lease_ttl       = "3s"                       # whole seconds, 1s to 1m: a dead member goes after it. Default "3s".
#   #   heartbeat       = "1s"                       # lease renewal, less than lease_ttl. Default lease_ttl / 3.
#   #   request_timeout = "1s"                       # each request to etcd. Default "1s".
#   #   dial_timeout    = "5s"                       # the first connection. Default "5s".
#   # }
#
#   # Mutual TLS between members: all three files are required. How to make
#   # test certificates: `go doc ./actors/cluster` (Mutual TLS).
#   tls {
#     ca_file   = "ca.crt"
#     cert_file = "member.crt"
#     key_file  = "member.key"
#   }
# }

# Pools, in order; the first is the default pool for tasks that name none.

# CPU-bound tasks: one task at a time per worker.
pool "cpu" {
  kind           = "cpu"         # cpu, io, mixed, process. Default "cpu".
  workers        = 2             # 1 to 65536. Default: one per CPU.
  concurrency    = 1             # tasks per worker, 1 to 65536. Default 1 for cpu.
  strategy       = "round-robin" # round-robin, weighted, least-busy, random, p2c, consistent-hash
  queue_capacity = 1024          # queued tasks before Submit waits, 1 to 67108864. Default 1024.
  task_timeout   = "10s"         # per task, unless the task sets its own. "0s" (the default): none.
  stable_period  = "1s"          # up this long, a restarted worker's backoff starts over. Default "1s".
  stuck_grace    = "1s"          # a handler this far past its deadline: its worker is replaced. Default "1s".
  quarantine_after = 3           # worker crashes a task ID may cause before it is refused. 0: never. Default 3.

  # A worker that crashes more than max times within window is stopped for
  # good. Default: 100 within "10s", each field on its own. max = 0: never
  # restart. scope says which workers a crash restarts: one-for-one (the
  # crashed one, the default), all-for-one (all of them) or rest-for-one
  # (it and those started after it).
  restarts {
    max    = 100
    window = "10s"
    scope  = "one-for-one"
  }

  # The restarts of all the pool's workers together: more than max within
  # window fail the pool (as below) instead of restarting the worker.
  # Default: no such bound. max = 0: the first crash fails the pool.
  total_restarts {
    max    = 300
    window = "10s"
  }

  # When every worker has used up its restarts the pool has failed; it is
  # restarted whole at most max times within window, then given up: its
  # tasks fail. Default: 3 within "1m". max = 0: never. The same happens
  # past total_restarts.
  pool_restarts {
    max    = 3
    window = "1m"
  }

  # The delay before restart n is initial × multiplierⁿ, capped at max and
  # spread by ±jitter of itself. Default: "10ms", "5s" (or initial, if
  # larger), 2, 0.2, each field on its own.
  backoff {
    initial    = "10ms"
    max        = "5s"
    multiplier = 2
    jitter     = 0.2 # 0 to 1; 0: none
  }

  # Tasks that name no retry policy of their own run again when their
  # handler returns an error marked transient, up to max_attempts runs in
  # all (0 or 1: none, the default), after a backoff like the one above.
  retry {
    max_attempts = 3
    backoff {
      initial = "100ms"
      max     = "2s"
    }
  }
}

# Tasks that mostly wait (network, disk): many in flight per worker.
pool "io" {
  kind           = "io"
  workers        = 4          # Default 4 for io.
  concurrency    = 64         # Default 64 for io.
  strategy       = "least-busy"
  queue_capacity = 4096
  task_timeout   = "30s"

  # Probe each worker every interval; one that fails failure_threshold
  # probes in a row (no answer within timeout) leaves routing and restarts.
  # Default: no probes; with the block, "1s", "500ms" and 3.
  health {
    interval          = "1s"
    timeout           = "500ms" # at most interval
    failure_threshold = 3
  }

  # A circuit breaker for the pool and one per task type: failure_threshold
  # failures in a row open it, and Submit refuses at once for reset_timeout;
  # then half_open_trials tasks try it. scope says what counts for the
  # pool's own breaker: pool-faults (crashed and stuck workers, the default)
  # or all-results. Default: no breakers; with the block, 5, "10s", 1.
  breaker {
    failure_threshold = 5
    reset_timeout     = "10s"
    half_open_trials  = 1
    scope             = "pool-faults"
  }
}

# Tasks that compute and wait in turn, spread by weight: the first worker
# takes three tasks for each one the second takes.
pool "mixed" {
  kind        = "mixed"
  workers     = 2        # Default: one per CPU.
  concurrency = 4        # Default 4 for mixed.
  strategy    = "weighted"
  weights     = [3, 1]   # per worker, 1 to 1048576; workers past the list weigh 1. Default: all 1.
}

# A dynamic pool: it starts with min_workers and grows to max_workers while
# tasks wait and its workers are busy, then retires workers idle for a while.
pool "burst" {
  kind        = "io"
  min_workers = 1
  max_workers = 8
  concurrency = 8
  strategy    = "least-busy"
  aging       = "500ms"  # a waiting task rises one priority level every 500ms
  shed        = true     # when full, higher priorities displace the newest low ones

  # How the pool grows and shrinks (dynamic pools only): every interval it
  # looks at its load; up_after looks in a row with tasks waiting and the
  # workers' slots up_utilization busy add workers; below down_utilization,
  # workers idle for cooldown retire. Default: "250ms", 0.8, 2, 0.3, "5s".
  scale {
    interval         = "250ms"
    up_utilization   = 0.8
    up_after         = 2
    down_utilization = 0.3   # at most up_utilization
    cooldown         = "5s"
  }
}

# Workers that are OS processes speak Drover's frame protocol on stdin and
# stdout. A process pool looks like this:
#
# pool "resize" {
#   kind    = "process"
#   workers = 2
#   process {
#     command       = "/usr/local/bin/resize-worker" # required
#     args          = ["--quality", "85"]
#     env           = { LOG_LEVEL = "warn" }         # default: the node's environment
#     dir           = "/var/lib/resize"              # default: the node's directory
#     start_timeout = "10s"                          # the handshake. Default "10s".
#     kill_grace    = "2s"                           # cancel, then SIGTERM, then SIGKILL. Default "2s".
#     max_memory    = "512MiB"                       # recycle a child above this resident memory
#     max_tasks     = 10000                          # recycle a child after this many tasks
#   }
# }
