package procworker_test

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/drover-go/drover/actors/procworker"
	"github.com/drover-go/drover/protos"
)

// ExampleServeIO plays both sides over in-memory pipes: the worker serves
// one handler, and the node's side sends hello, a task and shutdown. A
// worker binary calls Serve instead, on its stdin and stdout.
func ExampleServeIO() {
	inR, inW := io.Pipe()   // node -> worker
	outR, outW := io.Pipe() // worker -> node
	served := make(chan error, 1)
	go func() {
		served <- procworker.ServeIO(context.Background(), inR, outW, map[string]procworker.Handler{
			"upper": func(_ context.Context, p []byte) ([]byte, error) { return bytes.ToUpper(p), nil },
		})
		_ = outW.Close()
	}()

	w := procworker.NewFrameWriter(inW, 0)
	r := procworker.NewFrameReader(outR, 0)
	_ = w.WriteFrame(&protos.Frame{Body: &protos.Frame_Hello{Hello: &protos.Hello{Version: procworker.ProtocolVersion, Worker: "text/w0"}}})
	_ = w.WriteFrame(&protos.Frame{Body: &protos.Frame_Task{Task: &protos.TaskEnvelope{Id: "1", Type: "upper", Payload: []byte("hello")}}})
	_ = w.Flush()

	var f protos.Frame
	_ = r.ReadFrame(&f)
	fmt.Println("ready:", f.GetReady().GetVersion(), f.GetReady().GetTypes())
	_ = r.ReadFrame(&f)
	fmt.Println("result:", f.GetResult().GetTaskId(), string(f.GetResult().GetOutput()))

	_ = w.WriteFrame(&protos.Frame{Body: &protos.Frame_Shutdown{Shutdown: &protos.Shutdown{}}})
	_ = w.Flush()
	fmt.Println("served:", <-served)
	// Output:
	// ready: 1 [upper]
	// result: 1 HELLO
	// served: <nil>
}
