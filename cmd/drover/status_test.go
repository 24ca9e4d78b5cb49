package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/admin"
)

func TestStatusUnreachable(t *testing.T) {
	code, stdout, stderr := runCLI(t, "status", "--addr", "127.0.0.1:1")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "drover: no node status from 127.0.0.1:1 (is 'drover run' serving its admin endpoint there?)")
	assert.Contains(t, stderr, "admin: cannot fetch status")
	assert.Empty(t, stdout)
}

func TestStatusBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"empty address", []string{"--addr", ""}, `--addr is ""; allowed: host:port or a URL`},
		{"zero timeout", []string{"--timeout", "0s"}, "--timeout is 0s; allowed: more than 0"},
		{"positional argument", []string{"node"}, `unexpected argument "node"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append([]string{"status"}, tt.args...)...)
			assert.Equal(t, exitUsage, code)
			assert.Contains(t, stderr, tt.want)
			assert.Empty(t, stdout)
		})
	}
}

// TestStatusInProcess reads an admin endpoint served in this process.
func TestStatusInProcess(t *testing.T) {
	n, err := actors.NewNode(actors.WithName("st"),
		actors.WithPool(actors.PoolConfig{Name: "p1", Workers: 1}),
		actors.WithPool(actors.PoolConfig{Name: "p2", Kind: actors.KindIO, Workers: 2}))
	require.NoError(t, err)
	srv, err := admin.Start("127.0.0.1:0", admin.NewHandler(n))
	require.NoError(t, err)
	defer func() {
		require.NoError(t, srv.Shutdown(t.Context()))
		_, err := n.Shutdown(t.Context())
		require.NoError(t, err)
	}()
	addr := srv.Addr().String()

	t.Run("text", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "status", "--addr", addr)
		require.Equal(t, exitOK, code, stderr)
		for _, want := range []string{"node st (ready)", "p1 ", "p2 ", "p1/w0", "p2/w1"} {
			assert.Contains(t, stdout, want)
		}
		assert.NotContains(t, stdout, "circuit breakers", "no pool has one")
	})
	t.Run("json", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "status", "--addr", "http://"+addr+"/", "--json")
		require.Equal(t, exitOK, code, stderr)
		var st admin.Status
		dec := json.NewDecoder(bytes.NewReader([]byte(stdout)))
		require.NoError(t, dec.Decode(&st))
		assert.False(t, dec.More(), "one object")
		assert.Equal(t, "st", st.Node)
		require.Len(t, st.Pools, 2)
		assert.Equal(t, "io", st.Pools[1].Kind)
	})
}

// TestStatusNotAnAdminEndpoint: something answers, but not /status.
func TestStatusNotAnAdminEndpoint(t *testing.T) {
	srv, err := admin.Start("127.0.0.1:0", http.NotFoundHandler())
	require.NoError(t, err)
	defer func() { require.NoError(t, srv.Shutdown(t.Context())) }()
	code, _, stderr := runCLI(t, "status", "--addr", srv.Addr().String())
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "no node status from "+srv.Addr().String())
	assert.Contains(t, stderr, "404 Not Found")
}

func TestWriteBreakers(t *testing.T) {
	tests := []struct {
		name string
		st   admin.Status
		want string
	}{
		{"none", admin.Status{Pools: []admin.PoolStatus{{Name: "a"}}}, ""},
		{"sorted by pool then type", admin.Status{Pools: []admin.PoolStatus{
			{Name: "a", Breakers: map[string]string{"zip": "closed", "": "open"}},
			{Name: "b", Breakers: map[string]string{"fetch": "half-open"}},
		}}, "\ncircuit breakers:\n" +
			"  POOL  TASK TYPE  STATE\n" +
			"  a     (pool)     open\n" +
			"  a     zip        closed\n" +
			"  b     fetch      half-open\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, writeBreakers(&b, tt.st))
			assert.Equal(t, tt.want, b.String())
		})
	}
}
