package api_test

import (
	"errors"
	"testing"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/api"
)

func FuzzDecodeTask(f *testing.F) {
	for _, s := range []string{
		`{"type":"echo","payload":"aGk="}`,
		`{"id":"a","type":"sleep","pool":"io","kind":"WORKER_KIND_IO","priority":"PRIORITY_HIGH","timeout":"1.5s","key":"k"}`,
		`{"type":"echo","priority":99}`,
		`{"type":"echo","timeout":"-1s"}`,
		`{"type":`, `[]`, `null`, "", `{"payload":"!!"}`, `{"metadata":{"a":"b"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := api.DecodeTask(body)
		if err != nil {
			if !errors.Is(err, actors.ErrInvalidTask) {
				t.Fatalf("error %v does not wrap ErrInvalidTask", err)
			}
			return
		}
		// What decodes converts to a task or to an error naming the field.
		if _, err := actors.TaskFromEnvelope(env); err != nil && !errors.Is(err, actors.ErrInvalidTask) {
			t.Fatalf("TaskFromEnvelope: %v does not wrap ErrInvalidTask", err)
		}
	})
}
