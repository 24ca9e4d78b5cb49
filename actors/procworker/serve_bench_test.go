package procworker_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/drover-go/drover/actors/procworker"
	"github.com/drover-go/drover/protos"
)

// BenchmarkServeIO measures the child's side alone: empty tasks through
// ServeIO over OS pipes, with window tasks in flight, against a minimal
// parent loop. The CPU-time measurement is on and off in the same run.
//
//	go test -run '^$' -bench ServeIO ./actors/procworker/
func BenchmarkServeIO(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []procworker.Option
	}{
		{"cpu-time", nil},
		{"no-cpu-time", []procworker.Option{procworker.WithoutCPUTime()}},
	} {
		b.Run(bc.name, func(b *testing.B) { benchServe(b, 128, bc.opts...) })
	}
}

func benchServe(b *testing.B, window int, opts ...procworker.Option) {
	inR, inW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan error, 1)
	go func() {
		served <- procworker.ServeIO(context.Background(), inR, outW,
			map[string]procworker.Handler{"empty": func(context.Context, []byte) ([]byte, error) { return nil, nil }}, opts...)
		_ = outW.Close()
	}()
	w := procworker.NewFrameWriter(inW, 0)
	r := procworker.NewFrameReader(outR, 0)
	send := func(f *protos.Frame) {
		if err := w.WriteFrame(f); err != nil {
			b.Fatal(err)
		}
	}
	send(&protos.Frame{Body: &protos.Frame_Hello{Hello: &protos.Hello{Version: procworker.ProtocolVersion}}})
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	var f protos.Frame
	if err := r.ReadFrame(&f); err != nil || f.GetReady() == nil {
		b.Fatalf("handshake: %v %v", err, &f)
	}
	b.ReportAllocs()
	b.ResetTimer()
	sent, done := 0, 0
	for done < b.N {
		for sent < b.N && sent-done < window {
			send(&protos.Frame{Body: &protos.Frame_Task{Task: &protos.TaskEnvelope{Id: strconv.Itoa(sent), Type: "empty"}}})
			sent++
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		if err := r.ReadFrame(&f); err != nil {
			b.Fatal(err)
		}
		done++
	}
	b.StopTimer()
	send(&protos.Frame{Body: &protos.Frame_Shutdown{Shutdown: &protos.Shutdown{}}})
	_ = w.Flush()
	if err := <-served; err != nil {
		b.Fatal(err)
	}
	_ = inW.Close()
	_ = inR.Close()
	_ = outR.Close()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
}
