// Package wire benchmarks Drover's task API over loopback beside
// baselines in the same run:
//
//   - BenchmarkStream: submit-and-wait through actors/client (one
//     pipelined stream, 1,000 tasks in flight) to a node's echo handler,
//     against protoactor remote request/response (RequestFuture, 1,000 in
//     flight) to an echo actor on another actor system.
//   - BenchmarkHTTP: one POST /v1/tasks?wait=5s per request to a node's
//     echo handler, against a bare net/http handler that echoes the body;
//     both from 8 keep-alive connections.
//
// Each reports both throughputs (drover-msgs/s, baseline-msgs/s) and their
// ratio (x-baseline):
//
//	go test -run '^$' -bench . -benchtime 3x ./bench/wire/
package wire
