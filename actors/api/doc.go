// Package api serves a Drover node's task API to other processes: the
// gRPC service drover.v1.TaskService (protos/drover_api.proto) and the
// same over HTTP/JSON, on one listener.
//
// Listen binds an address and serves until Shutdown. Each connection is
// routed by what it sends first: the HTTP/2 preface goes to gRPC, anything
// else to an HTTP/1.1 server with these routes:
//
//	POST   /v1/tasks[?wait=1s]   submit a task (protojson TaskEnvelope); 202 with its id,
//	                             or 200 with its result when it finished within wait
//	GET    /v1/tasks/{id}[?wait=1s]  the task's state (TaskStatus); 404 if unknown
//	DELETE /v1/tasks/{id}        cancel it (CancelResponse); 404 if unknown
//	POST   /v1/admin/reload      with WithReload: read the node's configuration again;
//	                             200 {"applied", "kept"}, 422 when nothing changed, 503 stopping,
//	                             403 on a server with neither a token nor mutual TLS
//
// Over TLS, HTTP clients must speak HTTP/1.1 (curl --http1.1): a client
// that negotiates HTTP/2 is taken for a gRPC client.
//
// # Errors
//
// A task the node refuses keeps the reason it has in Go (actors.Node.Submit's
// error): gRPC carries it as a status with a google.rpc.ErrorInfo detail
// (domain "drover", reason the protos.ErrorCode name without ERROR_CODE_,
// such as QUEUE_FULL) and, for overload, a google.rpc.RetryInfo; HTTP as
// a status and a body {"error": {"code": "QUEUE_FULL", "message": ...}}:
//
//	queue full, resource limit   RESOURCE_EXHAUSTED + RetryInfo   429 + Retry-After
//	circuit open                 UNAVAILABLE + RetryInfo          503 + Retry-After
//	shutting down                UNAVAILABLE                      503
//	invalid task, no handler,    INVALID_ARGUMENT                 400 (the message names the
//	no pool                                                           field and allowed values)
//	quarantined                  FAILED_PRECONDITION              409
//
// # Idempotency and results
//
// A task with an id (one is picked for Submit and POST when it has none) is
// kept by id: while it runs, and once finished for a bounded time and
// count (WithRetention). A task submitted again with an id the server
// keeps is not run again: the answer is the kept task (duplicate set). A
// stream task without an id is not kept: its result goes to its stream
// only.
//
// # Streams
//
// SubmitStream pipelines tasks in batches both ways. Each stream holds at
// most its window of tasks (WithWindow) from the reading of a task to the
// sending of its last reply; past that the server reads nothing more, and
// HTTP/2 flow control holds the client back. So a client that sends
// faster than the node works, or reads slowly, costs the node a bounded
// amount of memory. When a stream ends (the client cancels it, closes its
// connection, or dies), its unfinished tasks are canceled, since nobody is
// left to read their results; a stream opened with the header
// "drover-detach: 1" leaves them running instead (their results are kept
// when they have an id).
//
// # Security
//
// WithToken requires a bearer token (compared in constant time); WithTLS
// serves TLS, mutual with a config from cluster.LoadTLS. A listener that
// other machines can reach must have one of them, or WithInsecure.
// Requests are bounded in size (WithMaxRequest) and, per connection, in
// rate (WithRateLimit); HTTP has read, header and idle timeouts.
package api
