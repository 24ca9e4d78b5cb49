// Package admin is the admin HTTP endpoint of a running Drover node.
//
// NewHandler serves, for one actors.Node:
//
//	GET /          the live dashboard (a page, its files under /ui/)
//	GET /events    the dashboard's stream of the node (Server-Sent Events)
//	GET /metrics   Prometheus text format: the node's counters and gauges
//	GET /status    the node's pools, workers and queues as JSON (Status)
//	GET /healthz   200 while the process serves HTTP
//	GET /readyz    200 while the node takes tasks; 503 once it drains, or while
//	               a pool has no worker up and cannot start one (StartError)
//
// For a node that is a cluster member, WithClusterView adds the cluster's
// members and the member's counters to /status (Status.Cluster), which
// Status.WriteText prints as a members table.
//
// Start binds an address and serves a handler until Shutdown; FetchStatus
// reads a node's /status from another process.
//
// # Dashboard
//
// The page at / shows the node and its pools (kind, strategy, lifecycle
// state, each worker as a cell coloured by its state, queue depth per
// priority, completed/failed/rejected counts and rates, p50/p99 queue wait
// and run time, breaker states, scale bounds), the node's events as they
// happen (restarts with their reasons, give-ups, scale steps, breaker
// transitions, resource pressure, pool state changes), throughput and
// latency charts over the last five minutes, and the cluster's members for
// a member. It is read-only, and its files are embedded: it loads nothing
// from elsewhere.
//
// The page never polls. It opens /events, on which the server pushes:
//
//	hello    the node's name, the sample interval and the charts' history
//	frame    a Frame after each sample (WithSampleInterval, 1 s by default):
//	         the Status and the rates since the previous sample
//	node     a node event as it happens (all kinds but worker-state-changed)
//	dropped  how many events this stream has lost for falling behind
//	end      why the stream ends: the node stopped, or the server shuts down
//
// One sampler per handler reads Node.Stats once per interval and publishes
// each frame once, encoded, for every stream; the events come from a
// Node.Subscribe of the stream's own. What a stream holds for its client is
// bounded: 256 events (beyond, they are dropped, counted and reported) and
// the latest frame (a slow client skips frames). Each write has a deadline
// of 10 s, past which the client is cut off; WithMaxStreams bounds the
// streams open at once. A stream ends when its client goes, when the node
// stops, and, on a Server from Start, when Shutdown begins (a handler
// mounted on a server of the caller's ends with the client or the node).
//
// # No global side effects
//
// The package registers nothing on http.DefaultServeMux or
// prometheus.DefaultRegisterer and sets no OpenTelemetry global: each
// handler has a Prometheus registry of its own, whose collector reads
// Node.Stats on every scrape, so a scrape costs nothing on the task path.
// protoactor's own metrics are not offered: protoactor records them through
// OpenTelemetry's global meter provider, which a library must not set.
//
// # Metrics
//
// Every series carries a pool label. Counters: drover_tasks_submitted_total,
// drover_tasks_completed_total, drover_tasks_failed_total{reason} (reason:
// timeout, canceled, other), drover_tasks_timed_out_total,
// drover_tasks_canceled_total, drover_tasks_rejected_total,
// drover_tasks_shed_total, drover_tasks_retried_total,
// drover_tasks_quarantined_total, drover_worker_restarts_total,
// drover_worker_stuck_total, drover_worker_unhealthy_total. Gauges:
// drover_queue_depth{priority}, drover_queue_capacity,
// drover_tasks_in_flight, drover_workers{state}, drover_pool_min_workers,
// drover_pool_max_workers, drover_pool_peak_workers,
// drover_pool_concurrency, drover_handlers_abandoned,
// drover_circuit_breaker_state{task_type,state}, drover_pool_info{kind,strategy};
// and drover_node_ready without a pool label.
package admin
