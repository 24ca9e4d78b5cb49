# A Drover node: run it with
#
#   drover run --config examples/node/drover.hcl
#
# and look at it with `drover status --addr 127.0.0.1:9090`, or at
# http://127.0.0.1:9090/metrics, /status, /healthz and /readyz.
#
# Every setting is optional; what is left out takes the default shown in the
# comment beside it. Durations are Go durations ("250ms", "1m30s").

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

# Resource limits: checked now, enforced by a later version of the runtime.
# Sizes take B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024).
limits {
  memory_soft = "512MiB" # shed load above this heap size
  memory_hard = "1GiB"   # never above this one; at least memory_soft
  cpu_percent = 80       # of all the machine's CPUs, 1 to 100
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
#
#   # How members find each other: one provider block. Default: automanaged
#   # with no seeds, a member alone.
#   automanaged {
#     port  = 6331                                   # this member's HTTP port, fixed per member
#     seeds = ["127.0.0.1:6331", "127.0.0.1:6332"]   # every member's port, this one's included
#   }
#   # etcd {                                         # or etcd, for production
#   #   endpoints = ["127.0.0.1:2379"]
#   #   base_key  = "/drover"                        # Default "/drover".
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

  # A worker that crashes more than max times within window is stopped for
  # good. Default: 100 within "10s", each field on its own. max = 0: never
  # restart.
  restarts {
    max    = 100
    window = "10s"
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
}

# Tasks that mostly wait (network, disk): many in flight per worker.
pool "io" {
  kind           = "io"
  workers        = 4          # Default 4 for io.
  concurrency    = 64         # Default 64 for io.
  strategy       = "least-busy"
  queue_capacity = 4096
  task_timeout   = "30s"
}

# Tasks that compute and wait in turn.
pool "mixed" {
  kind        = "mixed"
  workers     = 2   # Default: one per CPU.
  concurrency = 4   # Default 4 for mixed.
  strategy    = "p2c"
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
