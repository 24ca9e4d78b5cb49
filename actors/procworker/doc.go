// Package procworker is the child side of Drover's process workers: the
// package a worker binary imports to serve task handlers to the Drover node
// that started it, and the frame codec both sides share.
//
// # Writing a worker binary
//
// A pool of kind process (actors.KindProcess, configured by
// actors.ProcessConfig) starts one child process per worker from a
// command. The child registers handlers by task type and calls Serve,
// which speaks the protocol over stdin and stdout until the node tells it
// to stop:
//
//	func main() {
//		err := procworker.Serve(context.Background(), map[string]procworker.Handler{
//			"resize": func(ctx context.Context, payload []byte) ([]byte, error) {
//				return resize(ctx, payload)
//			},
//		})
//		if err != nil {
//			log.Fatal(err)
//		}
//	}
//
// Handlers have the contract of in-process handlers (see Handler): their
// context ends when the node cancels the task, a returned error becomes the
// task's error, and a panic becomes a panic result while the process goes
// on serving. Logs go to stderr, which the node logs line by line under the
// worker's name; stdout carries frames only.
//
// # The protocol
//
// Frames are protobuf messages (protos.Frame, from protos/frames.proto),
// each preceded by its length as an unsigned varint. The node opens with
// hello, the child answers ready, then the node sends tasks and cancels and
// the child sends one result per task, in any order; shutdown ends it.
// PROTOCOL.md, beside this file, describes it completely enough to write a
// worker in another language.
//
// # The codec
//
// FrameReader and FrameWriter read and write frames on any stream, with a
// size limit (MaxFrameSize, 64 MiB) that a length prefix cannot talk past:
// a reader never allocates much more than the bytes it has received. The
// node's side (package actors) uses them too.
//
// # Concurrency
//
// ServeIO may run several times at once in one process, on different
// streams; Serve, which takes the process's stdin and stdout (and points
// os.Stdout at stderr while it runs), once at a time. Handlers run
// concurrently with each other. FrameReader and FrameWriter are not safe
// for concurrent use; give each stream one reader and one writer, or guard
// them.
package procworker
