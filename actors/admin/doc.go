// Package admin is the admin HTTP endpoint of a running Drover node.
//
// NewHandler serves, for one actors.Node:
//
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
