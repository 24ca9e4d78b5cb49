package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestRun(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		first string
	}{
		{
			name:  "every 10th record bad, queues of 2",
			args:  []string{"-records", "500", "-queue", "2", "-bad-every", "10", "-load-delay", "0"},
			first: "records 500: extracted 500, transformed 450, rejected 50, loaded 450, failed 0",
		},
		{
			name:  "no bad records, slow loads",
			args:  []string{"-records", "200", "-queue", "4", "-bad-every", "0", "-load-delay", "10us"},
			first: "records 200: extracted 200, transformed 200, rejected 0, loaded 200, failed 0",
		},
		{
			name:  "no records",
			args:  []string{"-records", "0"},
			first: "records 0: extracted 0, transformed 0, rejected 0, loaded 0, failed 0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, run(context.Background(), tt.args, &out))
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			require.Len(t, lines, 5, out.String())
			assert.Equal(t, tt.first, lines[0])
			assert.True(t, strings.HasPrefix(lines[2], "stage extract   queue "), lines[2])
		})
	}
}

func TestRunStopsWhenCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := run(ctx, []string{"-records", "100"}, &bytes.Buffer{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestTransform(t *testing.T) {
	tests := []struct {
		line string
		want row
		err  error
	}{
		{"7, user7 ,12.5", row{ID: 7, Name: "USER7", Cents: 1250}, nil},
		{"8,bob,3.04", row{ID: 8, Name: "BOB", Cents: 304}, nil},
		{"9,ann,3", row{ID: 9, Name: "ANN", Cents: 300}, nil},
		{"9,ann,n/a", row{}, errReject},
		{"9,ann,1.234", row{}, errReject},
		{"9,ann,1.-5", row{}, errReject},
		{"x,ann,1.00", row{}, errReject},
		{"9,ann", row{}, errReject},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, err := transform(tt.line)
			if tt.err != nil {
				require.True(t, errors.Is(err, tt.err), "%v", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
