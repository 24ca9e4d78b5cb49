// Package client submits tasks to a Drover node from another process,
// over the node's task API (package actors/api; `drover run --api ADDR`).
//
// A Client returns the same *actors.Future as a local actors.Node, with
// the same contract: every task it accepts gets exactly one result, and
// the errors wrap the same sentinels, so errors.Is(err, actors.ErrQueueFull)
// holds for a node's full queue across the wire. Submit waits for room (in
// the client's window, then in the node's queue, after the delay the node
// gives) until its context ends; TrySubmit refuses at once.
//
// # The stream
//
// Tasks travel pipelined on one gRPC stream, in batches both ways. When it
// breaks, the tasks it carried end with an error wrapping ErrConnection
// and actors.ErrCanceled (the node cancels a lost stream's tasks, unless
// the client was dialed WithDetach), and the next Submit opens a new
// stream, trying again with backoff while the node cannot be reached.
// Close drains: it waits for the results of the tasks submitted, then
// closes the stream and the connection.
//
// Enqueue submits a background job instead: a task the node keeps by its
// ID and runs whatever becomes of the client; Result and Cancel find it.
package client
