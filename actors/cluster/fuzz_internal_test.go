package cluster

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/protos"
)

// FuzzReadColumns feeds arbitrary bytes to the readers of a batch in column
// form, as a member would receive them from a broken or hostile peer: a
// batch either fails its checks with an error or yields every one of its
// tasks and results without a panic.
//
//	go test -run '^$' -fuzz FuzzReadColumns -fuzztime 60s ./actors/cluster/
func FuzzReadColumns(f *testing.F) {
	seed := func(m proto.Message) {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	seed(&protos.TaskColumns{
		Ids: []uint64{1, 2, 3}, Types: []string{"a", "b"}, TypeIndex: []uint32{0, 1, 0},
		Pools: []string{"p"}, Payloads: []byte("xyz"), PayloadEnds: []uint64{1, 1, 3},
		Priorities: []protos.Priority{1, 2, 3}, Keys: []string{"", "k", ""}, Timeouts: []int64{0, 5, -1},
	})
	seed(&protos.ResultColumns{
		Ids: []uint64{1, 2}, Workers: []string{"w"}, WorkerIndex: []uint32{1, 0},
		Outputs: []byte("ok"), OutputEnds: []uint64{2, 2}, Queued: []int64{1, 2}, Run: []int64{3, 4},
		ErrorIndex: []uint32{1}, Errors: []*protos.TaskError{{Code: protos.ErrorCode_ERROR_CODE_TIMEOUT, Message: "late"}},
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		var tc protos.TaskColumns
		if proto.Unmarshal(b, &tc) == nil {
			if cols, err := readTaskColumns(&tc); err == nil {
				for i := range tc.GetIds() {
					task := cols.task(i)
					_ = task.Validate() // a bad field is the task's error, not the batch's
				}
			}
		}
		var rc protos.ResultColumns
		if proto.Unmarshal(b, &rc) == nil {
			seen := 0
			err := readResultColumns(&rc, func(uint64, actors.Result) { seen++ })
			if err == nil && seen != len(rc.GetIds()) {
				t.Fatalf("%d results read of %d", seen, len(rc.GetIds()))
			}
		}
	})
}
