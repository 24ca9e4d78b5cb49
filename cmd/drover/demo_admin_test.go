package main

import (
	"context"
	"io"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors/admin"
)

// dashboardProbe is the demo's stderr: at the log line that gives the
// dashboard's URL it reads the node's /status from there, while the demo
// runs.
type dashboardProbe struct {
	url    string
	status admin.Status
	err    error
}

var dashboardLine = regexp.MustCompile(`dashboard: url=(http://\S+/)`)

func (p *dashboardProbe) Write(b []byte) (int, error) {
	if m := dashboardLine.FindSubmatch(b); m != nil && p.url == "" {
		p.url = string(m[1])
		p.status, p.err = admin.FetchStatus(context.Background(), nil, p.url)
	}
	return len(b), nil
}

func TestDemoServesDashboard(t *testing.T) {
	o := smallDemo()
	o.Tasks = 200
	o.LogLevel = "info"
	o.Admin = "127.0.0.1:0"
	var probe dashboardProbe
	rep, err := runDemo(t.Context(), o, io.Discard, &probe)
	require.NoError(t, err)
	checkAccounting(t, rep)
	require.NotEmpty(t, probe.url, "no dashboard log line")
	require.NoError(t, probe.err)
	assert.Equal(t, "drover-demo", probe.status.Node)
	assert.Len(t, probe.status.Pools, 5)

	code, _, stderr := runCLI(t, "demo", "--tasks", "10", "--admin", "127.0.0.1:99999")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "--admin: admin: cannot listen on 127.0.0.1:99999")
}
