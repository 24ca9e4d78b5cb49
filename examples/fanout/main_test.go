package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// serialRoot hashes the same input one chunk after the other.
func serialRoot(seed uint64, n, size int) string {
	var digests [][]byte
	for _, chunk := range generate(seed, n, size) {
		sum := sha256.Sum256(chunk)
		digests = append(digests, sum[:])
	}
	return hex.EncodeToString(combine(digests))
}

func TestRun(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		seed   uint64
		chunks int
		size   int
	}{
		{"one chunk", []string{"-chunks", "1", "-size", "100"}, 1, 1, 100},
		{"more chunks than workers", []string{"-chunks", "40", "-size", "4096", "-workers", "3", "-seed", "7"}, 7, 40, 4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, run(context.Background(), tt.args, &out))
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			require.Len(t, lines, 3, out.String())
			assert.Equal(t, "root "+serialRoot(tt.seed, tt.chunks, tt.size), lines[1])
			assert.True(t, strings.HasPrefix(lines[2], "chunks per worker: cpu/w"), lines[2])
		})
	}
}

func TestRunRejectsBadArgs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		says string
	}{
		{"no chunks", []string{"-chunks", "0"}, "-chunks and -size must be at least 1"},
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, &bytes.Buffer{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.says)
		})
	}
}
