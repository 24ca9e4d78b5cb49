package main

import (
	"bytes"
	"context"
	"os/exec"
	"regexp"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVersionOf(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "vcs.revision", Value: "3f2a9c1e0b7d5a6c4e2f1a0b9c8d7e6f5a4b3c2d"},
		{Key: "vcs.time", Value: "2026-11-29T17:58:52Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	tests := []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"a module version", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}}, "v1.2.0 (go1.26.8)"},
		{"a work tree with changes", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs},
			"devel 3f2a9c1e0b7d 2026-11-29T17:58:52Z+dirty (go1.26.8)"},
		{"a clean work tree", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs[:2]},
			"devel 3f2a9c1e0b7d 2026-11-29T17:58:52Z (go1.26.8)"},
		{"no version control", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, "devel (go1.26.8)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, versionOf(&tt.bi))
		})
	}
}

// The built binary reports its build information.
func TestVersionFlag(t *testing.T) {
	bin := droverBinary(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "--version")
	cmd.Stdout = &out
	require.NoError(t, cmd.Run())
	assert.Regexp(t, regexp.MustCompile(`^drover version \S.* \(go1\.\d+[^)]*\)\n$`), out.String())
}
