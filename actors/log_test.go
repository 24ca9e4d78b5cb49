package actors_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/assert"

	"github.com/drover-go/drover/actors"
)

func discardLogger(*actor.ActorSystem) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func TestSlogHandlerWritesToHclog(t *testing.T) {
	var buf bytes.Buffer
	l := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Debug, DisableTime: true})
	s := slog.New(actors.NewSlogHandler(l)).With("system", "s1").WithGroup("actor")
	s.Info("started", "pid", "a/b", slog.Group("msg", "type", "Ping"))
	s.Debug("routine")
	assert.Equal(t, "[INFO]  started: system=s1 actor.pid=a/b actor.msg.type=Ping\n[DEBUG] routine: system=s1\n", buf.String())

	buf.Reset()
	quiet := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Info, DisableTime: true})
	d := slog.New(actors.NewSlogHandler(quiet, actors.WithDemoteInfo()))
	assert.False(t, d.Enabled(context.Background(), slog.LevelInfo), "demoted info is debug")
	d.Info("actor system started")
	d.Warn("dead letter")
	assert.Equal(t, "[WARN]  dead letter\n", buf.String())

	buf.Reset()
	q := slog.New(actors.NewSlogHandler(quiet, actors.WithDemoteMessages("server stopping")))
	q.Error("server stopping", "error", "http: Server closed")
	q.Error("disk full")
	assert.Equal(t, "[ERROR] disk full\n", buf.String(), "a demoted message is debug")
}

func TestNodeIsSilentByDefault(t *testing.T) {
	var buf bytes.Buffer
	l := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Info})
	n := newNode(t, actors.WithLogger(l), actors.WithPool(actors.PoolConfig{Name: "p", Workers: 1}))
	f, err := n.SubmitFunc(context.Background(), "p", func(context.Context) (any, error) { panic("x") })
	assert.NoError(t, err)
	wait(t, f)
	_, _ = n.Shutdown(context.Background())
	assert.Empty(t, buf.String(), "routine events, protoactor's included, log at debug")
}
