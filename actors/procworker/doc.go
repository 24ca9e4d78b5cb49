// Package procworker holds both sides of Drover's process workers: the
// child side, which a worker binary imports to serve task handlers to the
// Drover node that started it (Serve); the node's side, which starts a
// child, runs tasks in it and stops it (Client); and the frame codec both
// share.
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
// a reader never allocates much more than the bytes it has received.
//
// # The node's side
//
// Start starts a child from a ClientConfig and waits for its handshake
// (honouring its context: a start in progress is killed when it ends).
// Client.Call runs one task and returns its output and CPU time, the
// handler's error (*TaskError), a *CrashError when the child died, was
// killed or broke the protocol, or ErrNotSent for a task that was never
// sent (the client is closing, or a crash broke it): such a task did not
// run and may run elsewhere. Client.Close runs the stop sequence
// (shutdown, SIGTERM, SIGKILL, KillGrace apart) and reports what it took.
// A child is recycled after MaxTasks tasks or beyond MaxMemoryBytes, each
// recycle reported to OnRecycle. Package actors runs a Client per process
// worker.
//
// # Concurrency
//
// A Client's methods are safe for concurrent use. ServeIO may run several
// times at once in one process, on different streams; Serve, which takes the process's stdin and stdout (and points
// os.Stdout at stderr while it runs), once at a time. Handlers run
// concurrently with each other. FrameReader and FrameWriter are not safe
// for concurrent use; give each stream one reader and one writer, or guard
// them.
package procworker
