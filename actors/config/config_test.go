package config_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/config"
	"github.com/drover-go/drover/supervision"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const samplePath = "../../examples/node/drover.hcl"

func TestParseEmpty(t *testing.T) {
	c, err := config.Parse(nil, "empty.hcl")
	require.NoError(t, err)
	want := config.Default()
	want.File = "empty.hcl"
	assert.Equal(t, want, c)
	assert.Equal(t, "127.0.0.1:9090", c.Admin.Address)
	assert.Equal(t, 30*time.Second, c.DrainTimeout)
}

func TestParseFull(t *testing.T) {
	src := `
name          = "edge-1"
drain_timeout = "1m30s"
log {
  level  = "debug"
  format = "json"
}
admin {
  address = ":9191"
}
limits {
  memory_soft = "1.5GB"
  memory_hard = "2GiB"
  cpu_percent = 12.5
}
pool "fast" {
  kind           = "io"
  workers        = 3
  concurrency    = 16
  strategy       = "consistent-hash"
  queue_capacity = 10
  task_timeout   = "0s"
  stable_period  = "2s"
  restarts {
    max = 0
  }
  backoff {
    max    = "1s"
    jitter = 0
  }
}
pool "ext" {
  kind = "process"
  process {
    command       = "/bin/worker"
    args          = ["-v", "2"]
    env           = { B = "2", A = "1" }
    dir           = "/tmp"
    start_timeout = "3s"
  }
}
pool "plain" {}
`
	c, err := config.Parse([]byte(src), "full.hcl")
	require.NoError(t, err)
	want := &config.Config{
		File:         "full.hcl",
		Name:         "edge-1",
		Log:          config.Log{Level: hclog.Debug, Format: "json"},
		Admin:        config.Admin{Address: ":9191"},
		DrainTimeout: 90 * time.Second,
		Limits:       config.Limits{MemorySoft: 1_500_000_000, MemoryHard: 2 << 30, CPUPercent: 12.5},
		Pools: []actors.PoolConfig{
			{
				Name: "fast", Kind: actors.KindIO, Workers: 3, Concurrency: 16, Strategy: "consistent-hash",
				QueueCapacity: 10, StablePeriod: 2 * time.Second,
				// Fields left out of a block stay zero: the pool's defaults.
				Restarts: supervision.Intensity{MaxRestarts: supervision.NoRestarts},
				Backoff:  supervision.Backoff{Max: time.Second, Jitter: supervision.NoJitter},
			},
			{
				Name: "ext", Kind: actors.KindProcess,
				Process: &actors.ProcessConfig{
					Command: "/bin/worker", Args: []string{"-v", "2"}, Env: []string{"A=1", "B=2"},
					Dir: "/tmp", StartTimeout: 3 * time.Second,
				},
			},
			{Name: "plain"},
		},
	}
	assert.Equal(t, want, c)
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"workers out of range", "pool \"cpu\" {\n  workers = -1\n}\n",
			`t.hcl:2:13: pool "cpu": workers is -1; allowed: 1 to 65536`},
		{"workers not an integer", "pool \"cpu\" {\n  workers = 1.5\n}\n",
			`t.hcl:2:13: pool "cpu": workers is 1.5; allowed: 1 to 65536`},
		{"workers a word", "pool \"cpu\" {\n  workers = \"many\"\n}\n",
			`t.hcl:2:13: pool "cpu": workers is "many"; allowed: 1 to 65536`},
		{"concurrency too large", "pool \"io\" {\n  concurrency = 65537\n}\n",
			`t.hcl:2:17: pool "io": concurrency is 65537; allowed: 1 to 65536`},
		{"queue capacity huge", "pool \"q\" {\n  queue_capacity = 1e100\n}\n",
			`t.hcl:2:20: pool "q": queue_capacity is 1e100; allowed: 1 to 67108864`},
		{"unknown kind", "pool \"cpu\" {\n  kind = \"gpu\"\n}\n",
			`t.hcl:2:10: pool "cpu": kind is "gpu"; allowed: cpu, io, mixed, process`},
		{"kind without quotes", "pool \"cpu\" {\n  kind = gpu\n}\n",
			`t.hcl:2:10: pool "cpu": kind is gpu; allowed: cpu, io, mixed, process`},
		{"unknown strategy", "pool \"cpu\" {\n  strategy = \"fastest\"\n}\n",
			`t.hcl:2:14: pool "cpu": strategy is "fastest"; allowed: round-robin, weighted, least-busy, random, p2c, consistent-hash`},
		{"task timeout without unit", "pool \"cpu\" {\n  task_timeout = 5\n}\n",
			`t.hcl:2:18: pool "cpu": task_timeout is 5; allowed: a duration from 0s (none) to 24h, such as "5s"`},
		{"negative stable period", "pool \"cpu\" {\n  stable_period = \"-1s\"\n}\n",
			`t.hcl:2:19: pool "cpu": stable_period is "-1s"; allowed: a duration from 1ms to 24h, such as "1s"`},
		{"unknown pool field", "pool \"cpu\" {\n  wokers = 1\n}\n",
			`t.hcl:2:3: pool "cpu": unknown field "wokers"; allowed: kind, workers, min_workers, max_workers, concurrency, strategy, weights, queue_capacity, task_timeout, stable_period, aging, shed, stuck_grace, quarantine_after`},
		{"min above max", "pool \"d\" {\n  min_workers = 5\n  max_workers = 2\n}\n",
			`t.hcl:3:17: pool "d": max_workers is 2; allowed: at least min_workers (5)`},
		{"workers outside min and max", "pool \"d\" {\n  workers = 9\n  max_workers = 4\n}\n",
			`t.hcl:1:1: pool "d": workers is 9; allowed: min_workers (1) to max_workers (4)`},
		{"min without max", "pool \"d\" {\n  min_workers = 5\n}\n",
			`t.hcl:2:17: pool "d": min_workers is 5; allowed: only with max_workers, which makes the pool dynamic`},
		{"shed not a bool", "pool \"d\" {\n  shed = \"yes\"\n}\n",
			`t.hcl:2:10: pool "d": shed is "yes"; allowed: true or false`},
		{"aging negative", "pool \"d\" {\n  aging = \"-1s\"\n}\n",
			`t.hcl:2:11: pool "d": aging is "-1s"; allowed: a duration from 0s (strict priority) to 24h, such as "500ms"`},
		{"unknown pool block", "pool \"cpu\" {\n  retries {\n  }\n}\n",
			`t.hcl:2:3: pool "cpu": unknown block "retries"; allowed: restarts, total_restarts, pool_restarts, backoff, scale, health, breaker, retry, process`},
		{"process command with NUL", "pool \"p\" {\n  kind = \"process\"\n  process {\n    command = \"a\\u0000b\"\n  }\n}\n",
			`t.hcl:4:15: pool "p": process.command is "a\u0000b"; allowed: the path of a worker binary`},
		{"process args with NUL", "pool \"p\" {\n  kind = \"process\"\n  process {\n    command = \"w\"\n    args = [\"a\\u0000\"]\n  }\n}\n",
			`t.hcl:5:12: pool "p": process.args is ["a\u0000"]; allowed: a list of strings without NUL bytes, such as ["--quiet"]`},
		{"process env value with NUL", "pool \"p\" {\n  kind = \"process\"\n  process {\n    command = \"w\"\n    env = { A = \"\\u0000\" }\n  }\n}\n",
			`t.hcl:5:11: pool "p": process.env is { A = "\u0000" }; allowed: a map of strings, such as { LOG_LEVEL = "debug" }, names without "=" and no NUL bytes`},
		{"weights out of range", "pool \"w\" {\n  weights = [1, 0]\n}\n",
			`t.hcl:2:13: pool "w": weights is [1, 0]; allowed: a list of at most 65536 numbers, each 1 to 1048576, such as [3, 1]`},
		{"quarantine negative", "pool \"w\" {\n  quarantine_after = -1\n}\n",
			`t.hcl:2:22: pool "w": quarantine_after is -1; allowed: 0 to 1000000`},
		{"restart scope", "pool \"a\" {\n  restarts {\n    scope = \"all\"\n  }\n}\n",
			`t.hcl:3:13: pool "a": restarts.scope is "all"; allowed: one-for-one, all-for-one, rest-for-one`},
		{"pool restarts take no scope", "pool \"a\" {\n  pool_restarts {\n    scope = \"all-for-one\"\n  }\n}\n",
			`t.hcl:3:5: pool "a": unknown field "pool_restarts.scope"; allowed: max, window`},
		{"scale in a fixed pool", "pool \"a\" {\n  scale {\n  }\n}\n",
			`t.hcl:2:3: pool "a": scale block in a fixed pool; allowed: only with max_workers, which makes the pool dynamic`},
		{"scale down above up", "pool \"a\" {\n  max_workers = 4\n  scale {\n    up_utilization = 0.5\n    down_utilization = 0.6\n  }\n}\n",
			`t.hcl:5:24: pool "a": scale.down_utilization is 0.6; allowed: at most scale.up_utilization (0.5)`},
		{"scale up_after", "pool \"a\" {\n  max_workers = 4\n  scale {\n    up_after = 0\n  }\n}\n",
			`t.hcl:4:16: pool "a": scale.up_after is 0; allowed: 1 to 1000`},
		{"health timeout above interval", "pool \"a\" {\n  health {\n    interval = \"1s\"\n    timeout = \"2s\"\n  }\n}\n",
			`t.hcl:4:15: pool "a": health.timeout is "2s"; allowed: at most health.interval (1s)`},
		{"health interval below the default timeout", "pool \"a\" {\n  health {\n    interval = \"100ms\"\n  }\n}\n",
			`t.hcl:3:16: pool "a": health.interval is "100ms"; allowed: at least health.timeout (500ms, the default)`},
		{"breaker scope", "pool \"a\" {\n  breaker {\n    scope = \"all\"\n  }\n}\n",
			`t.hcl:3:13: pool "a": breaker.scope is "all"; allowed: pool-faults, all-results`},
		{"breaker threshold", "pool \"a\" {\n  breaker {\n    failure_threshold = 0\n  }\n}\n",
			`t.hcl:3:25: pool "a": breaker.failure_threshold is 0; allowed: 1 to 1000000`},
		{"retry backoff", "pool \"a\" {\n  retry {\n    max_attempts = 3\n    backoff {\n      jitter = 5\n    }\n  }\n}\n",
			`t.hcl:5:16: pool "a": retry.backoff.jitter is 5; allowed: 0 (none) to 1`},
		{"limits window below interval", "limits {\n  interval = \"2s\"\n  window = \"1s\"\n}\n",
			`t.hcl:3:12: limits.window is "1s"; allowed: at least limits.interval (2s)`},
		{"field written as a block", "pool \"cpu\" {\n  workers {\n  }\n}\n",
			`t.hcl:2:3: pool "cpu": workers is a field, not a block; allowed: workers = ...`},
		{"block written as a field", "log = \"debug\"\n",
			`t.hcl:1:1: log is a block, not a field; allowed: log { ... }`},
		{"unknown top-level field", "nmae = \"x\"\n",
			`t.hcl:1:1: unknown field "nmae"; allowed: name, drain_timeout`},
		{"unknown top-level block", "metrics {\n}\n",
			`t.hcl:1:1: unknown block "metrics"; allowed: log, admin, api, limits, cluster, pool`},
		{"pool without a name", "pool {\n}\n",
			`t.hcl:1:1: pool block has 0 labels; allowed: one, its name, as in pool "cpu" { ... }`},
		{"log with a label", "log \"x\" {\n}\n",
			`t.hcl:1:1: log block has 1 labels; allowed: none, as in log { ... }`},
		{"bad pool name", "pool \"b c\" {}\n",
			`t.hcl:1:6: pool name is "b c"; allowed: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit`},
		{"duplicate pool", "pool \"a\" {}\npool \"a\" {}\n",
			`t.hcl:2:6: pool "a": declared twice (first at line 1); allowed: one pool per name`},
		{"duplicate log block", "log {\n}\nlog {\n}\n",
			`t.hcl:3:1: log block is declared twice (first at line 1); allowed: one log block`},
		{"bad node name", "name = \"-x\"\n",
			`t.hcl:1:8: name is "-x"; allowed: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit`},
		{"drain timeout a number", "drain_timeout = 5\n",
			`t.hcl:1:17: drain_timeout is 5; allowed: a duration from 1ms to 24h, such as "30s"`},
		{"variables are not allowed", "drain_timeout = \"${x}s\"\n",
			`t.hcl:1:17: drain_timeout is "${x}s"; allowed: a duration from 1ms to 24h, such as "30s"`},
		{"log level", "log {\n  level = \"loud\"\n}\n",
			`t.hcl:2:11: log.level is "loud"; allowed: trace, debug, info, warn, error, off`},
		{"log format", "log {\n  format = \"xml\"\n}\n",
			`t.hcl:2:12: log.format is "xml"; allowed: text, json`},
		{"unknown log field", "log {\n  colour = true\n}\n",
			`t.hcl:2:3: unknown field "log.colour"; allowed: level, format`},
		{"block inside log", "log {\n  file {\n  }\n}\n",
			`t.hcl:2:3: unknown block "log.file"; allowed: no blocks here`},
		{"admin address without port", "admin {\n  address = \"localhost\"\n}\n",
			`t.hcl:2:13: admin.address is "localhost"; allowed: host:port with a port from 0 to 65535, such as "127.0.0.1:9090"`},
		{"admin port out of range", "admin {\n  address = \"127.0.0.1:70000\"\n}\n",
			`t.hcl:2:13: admin.address is "127.0.0.1:70000"; allowed: host:port with a port from 0 to 65535, such as "127.0.0.1:9090"`},
		{"memory size without unit letters", "limits {\n  memory_soft = \"12 parsecs\"\n}\n",
			`t.hcl:2:17: limits.memory_soft is "12 parsecs"; allowed: a size from 1MiB to 1PiB, such as "512MiB" or "2GB"`},
		{"memory too small", "limits {\n  memory_hard = \"1KiB\"\n}\n",
			`t.hcl:2:17: limits.memory_hard is "1KiB"; allowed: a size from 1MiB to 1PiB, such as "512MiB" or "2GB"`},
		{"hard below soft", "limits {\n  memory_soft = \"2GiB\"\n  memory_hard = \"1GiB\"\n}\n",
			`t.hcl:3:17: limits.memory_hard is "1GiB"; allowed: at least limits.memory_soft ("2GiB")`},
		{"cpu percent", "limits {\n  cpu_percent = 0\n}\n",
			`t.hcl:2:17: limits.cpu_percent is 0; allowed: 1 to 100 (percent of all the machine's CPUs)`},
		{"restarts max negative", "pool \"a\" {\n  restarts {\n    max = -1\n  }\n}\n",
			`t.hcl:3:11: pool "a": restarts.max is -1; allowed: 0 to 1000000`},
		{"restarts window", "pool \"a\" {\n  restarts {\n    window = \"0s\"\n  }\n}\n",
			`t.hcl:3:14: pool "a": restarts.window is "0s"; allowed: a duration from 1ms to 24h, such as "10s"`},
		{"backoff max below initial", "pool \"a\" {\n  backoff {\n    initial = \"2s\"\n    max = \"1s\"\n  }\n}\n",
			`t.hcl:4:11: pool "a": backoff.max is "1s"; allowed: at least backoff.initial (2s)`},
		{"backoff max below the default initial", "pool \"a\" {\n  backoff {\n    max = \"1ms\"\n  }\n}\n",
			`t.hcl:3:11: pool "a": backoff.max is "1ms"; allowed: at least backoff.initial (10ms, the default)`},
		{"backoff multiplier", "pool \"a\" {\n  backoff {\n    multiplier = 0.5\n  }\n}\n",
			`t.hcl:3:18: pool "a": backoff.multiplier is 0.5; allowed: 1 to 1000`},
		{"backoff jitter", "pool \"a\" {\n  backoff {\n    jitter = 2\n  }\n}\n",
			`t.hcl:3:14: pool "a": backoff.jitter is 2; allowed: 0 (none) to 1`},
		{"unknown backoff field", "pool \"a\" {\n  backoff {\n    factor = 2\n  }\n}\n",
			`t.hcl:3:5: pool "a": unknown field "backoff.factor"; allowed: initial, max, multiplier, jitter`},
		{"process pool without process block", "pool \"p\" {\n  kind = \"process\"\n}\n",
			`t.hcl:1:1: pool "p": process block is missing; allowed: process { command = "..." }, required for kind "process"`},
		{"process block in a cpu pool", "pool \"p\" {\n  process {\n    command = \"x\"\n  }\n}\n",
			`t.hcl:2:3: pool "p": process block in a pool of kind "cpu" (the default); allowed: only in a pool of kind "process"`},
		{"process block in an io pool", "pool \"p\" {\n  kind = \"io\"\n  process {\n    command = \"x\"\n  }\n}\n",
			`t.hcl:3:3: pool "p": process block in a pool of kind "io"; allowed: only in a pool of kind "process"`},
		{"process without command", "pool \"p\" {\n  kind = \"process\"\n  process {\n  }\n}\n",
			`t.hcl:3:3: pool "p": process.command is missing; allowed: the path of a worker binary`},
		{"process empty command", "pool \"p\" {\n  kind = \"process\"\n  process {\n    command = \"\"\n  }\n}\n",
			`t.hcl:4:15: pool "p": process.command is ""; allowed: the path of a worker binary`},
		{"process args not strings", "pool \"p\" {\n  kind = \"process\"\n  process {\n    command = \"w\"\n    args = \"-v\"\n  }\n}\n",
			`t.hcl:5:12: pool "p": process.args is "-v"; allowed: a list of strings without NUL bytes, such as ["--quiet"]`},
		{"process env name with =", "pool \"p\" {\n  kind = \"process\"\n  process {\n    command = \"w\"\n    env = { \"A=B\" = \"1\" }\n  }\n}\n",
			`t.hcl:5:11: pool "p": process.env is { "A=B" = "1" }; allowed: a map of strings, such as { LOG_LEVEL = "debug" }, names without "=" and no NUL bytes`},
		{"syntax error", "name = \n",
			`t.hcl:1:8: Invalid expression: Expected the start of an expression, but found an invalid expression token.`},
		{"unclosed block", "pool \"a\" {\n",
			`t.hcl:1:10: Unclosed configuration block: There is no closing brace for this block before the end of the file. This may be caused by incorrect brace nesting elsewhere in this file.`},
		{"long value is shortened", "name = \"" + strings.Repeat("x", 80) + "\"\n",
			`t.hcl:1:8: name is "` + strings.Repeat("x", 56) + `...; allowed: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit`},
		{"several problems, in file order", "pool \"a\" {\n  workers = 0\n  kind = \"x\"\n}\nname = \"\"\n",
			"t.hcl:2:13: pool \"a\": workers is 0; allowed: 1 to 65536\n" +
				"t.hcl:3:10: pool \"a\": kind is \"x\"; allowed: cpu, io, mixed, process\n" +
				"t.hcl:5:8: name is \"\"; allowed: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse([]byte(tt.src), "t.hcl")
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Equal(t, tt.want, err.Error())
			assert.ErrorIs(t, err, config.ErrInvalid)
			var e *config.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, "t.hcl", e.File)
			assert.Positive(t, e.Line)
		})
	}
}

func TestErrorFields(t *testing.T) {
	_, err := config.Parse([]byte("pool \"cpu\" {\n  workers = -1\n}\n"), "drover.hcl")
	var e *config.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, config.Error{
		File: "drover.hcl", Line: 2, Column: 13,
		Path: `pool "cpu"`, Field: "workers", Value: "-1", Allowed: "1 to 65536",
	}, *e)
}

func TestParseUnnamedSource(t *testing.T) {
	_, err := config.Parse([]byte("name = 1.5.\n"), "")
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "<config>:1:"), err.Error())
}

func TestLoad(t *testing.T) {
	c, err := config.Load(samplePath)
	require.NoError(t, err)
	assert.Equal(t, samplePath, c.File)

	_, err = config.Load("testdata/does-not-exist.hcl")
	assert.ErrorIs(t, err, config.ErrRead)
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.NotErrorIs(t, err, config.ErrInvalid)
}

// The sample config parses, validates and runs a node as it is.
func TestSample(t *testing.T) {
	c, err := config.Load(samplePath)
	require.NoError(t, err)
	require.NoError(t, c.Validate())
	assert.Equal(t, "example", c.Name)
	assert.Equal(t, "127.0.0.1:9090", c.Admin.Address)
	assert.Equal(t, 15*time.Second, c.DrainTimeout)
	var names []string
	kinds := map[string]actors.Kind{}
	for _, p := range c.Pools {
		names = append(names, p.Name)
		kinds[p.Name] = p.Kind
	}
	assert.Equal(t, []string{"cpu", "io", "mixed", "burst"}, names)
	assert.Equal(t, map[string]actors.Kind{"cpu": actors.KindCPU, "io": actors.KindIO, "mixed": actors.KindMixed, "burst": actors.KindIO}, kinds)

	opts, err := c.NodeOptions(hclog.NewNullLogger())
	require.NoError(t, err)
	n, err := actors.NewNode(opts...)
	require.NoError(t, err)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.DrainTimeout)
		defer cancel()
		_, err := n.Shutdown(ctx)
		assert.NoError(t, err)
	}()
	st := n.Stats()
	assert.Equal(t, "example", st.Name)
	require.Len(t, st.Pools, 4)
	for i, p := range st.Pools {
		assert.Equal(t, c.Pools[i].Name, p.Name)
		assert.Equal(t, c.Pools[i].Strategy, p.Strategy)
		if c.Pools[i].MaxWorkers > 0 {
			assert.Equal(t, c.Pools[i].MaxWorkers, p.MaxWorkers, "a dynamic pool")
		} else {
			assert.Equal(t, c.Pools[i].Workers, p.MaxWorkers)
		}
	}
	for _, pool := range names {
		f, err := n.SubmitFunc(context.Background(), pool, func(context.Context) (any, error) { return pool, nil })
		require.NoError(t, err)
		r, err := f.Wait(context.Background())
		require.NoError(t, err)
		assert.Equal(t, pool, r.Value)
	}
}

// The file's ranges match those actors.NewNode enforces: one past each
// upper bound is refused by both.
func TestRangesMatchActors(t *testing.T) {
	tests := []struct {
		field string
		value int
		set   func(*actors.PoolConfig, int)
	}{
		{"workers", actors.MaxPoolWorkers + 1, func(p *actors.PoolConfig, n int) { p.Workers = n }},
		{"concurrency", actors.MaxConcurrency + 1, func(p *actors.PoolConfig, n int) { p.Concurrency = n }},
		{"queue_capacity", actors.MaxQueueCapacity + 1, func(p *actors.PoolConfig, n int) { p.QueueCapacity = n }},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			src := "pool \"p\" {\n  " + tt.field + " = " + itoa(tt.value) + "\n}\n"
			_, err := config.Parse([]byte(src), "t.hcl")
			assert.ErrorIs(t, err, config.ErrInvalid)
			_, err = config.Parse([]byte("pool \"p\" {\n  "+tt.field+" = "+itoa(tt.value-1)+"\n}\n"), "t.hcl")
			assert.NoError(t, err)

			pc := actors.PoolConfig{Name: "p"}
			tt.set(&pc, tt.value)
			_, err = actors.NewNode(actors.WithPool(pc))
			assert.ErrorIs(t, err, actors.ErrInvalidConfig)
		})
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		c    config.Config
		want string
	}{
		{"zero config", config.Config{}, ""},
		{"defaults", *config.Default(), ""},
		{"flag override", config.Config{Admin: config.Admin{Address: "0.0.0.0:80"}}, ""},
		{"bad address", config.Config{Admin: config.Admin{Address: "nope"}},
			`admin.address is "nope"; allowed: host:port with a port from 0 to 65535, such as "127.0.0.1:9090"`},
		{"bad name", config.Config{Name: "a/b"},
			`name is "a/b"; allowed: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit`},
		{"bad level", config.Config{Log: config.Log{Level: 42}},
			`log.level is 42; allowed: trace, debug, info, warn, error, off`},
		{"bad format", config.Config{Log: config.Log{Format: "xml"}},
			`log.format is "xml"; allowed: text, json`},
		{"negative drain", config.Config{DrainTimeout: -time.Second},
			`drain_timeout is "-1s"; allowed: a duration from 1ms to 24h, such as "30s"`},
		{"limits", config.Config{Limits: config.Limits{MemorySoft: 2 << 30, MemoryHard: 1 << 30, CPUPercent: 150}},
			"limits.memory_hard is 1073741824; allowed: at least limits.memory_soft (2147483648)\n" +
				"limits.cpu_percent is 150; allowed: 1 to 100 (percent of all the machine's CPUs)"},
		{"pools", config.Config{Pools: []actors.PoolConfig{{Name: "a"}, {Name: "a"}, {Name: ""}}},
			"pool \"a\": declared twice; allowed: one pool per name\n" +
				"pools[2].name is \"\"; allowed: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
			assert.ErrorIs(t, err, config.ErrInvalid)
			_, err = tt.c.NodeOptions(nil)
			assert.ErrorIs(t, err, config.ErrInvalid, "NodeOptions validates")
		})
	}
}

func TestNodeOptions(t *testing.T) {
	c, err := config.Parse([]byte(`pool "p" {
  kind = "process"
  process {
    command = "w"
    args    = ["a"]
  }
}
pool "q" {}`), "t.hcl")
	require.NoError(t, err)
	opts, err := c.NodeOptions(nil)
	require.NoError(t, err)
	assert.Len(t, opts, 3, "name and two pools, no logger")
	opts, err = c.NodeOptions(hclog.NewNullLogger())
	require.NoError(t, err)
	assert.Len(t, opts, 4, "name, logger and two pools")
}

func TestWithDefaults(t *testing.T) {
	d := (&config.Config{}).WithDefaults()
	want := config.Default()
	assert.Equal(t, want, d)
	c := &config.Config{Name: "x", DrainTimeout: time.Second}
	d = c.WithDefaults()
	assert.Equal(t, "x", d.Name)
	assert.Equal(t, time.Second, d.DrainTimeout)
	assert.Equal(t, "", c.Admin.Address, "the original is not changed")
}

func TestNewLogger(t *testing.T) {
	tests := []struct {
		name    string
		log     config.Log
		json    bool
		debugOK bool
	}{
		{"default is info text", config.Log{}, false, false},
		{"debug json", config.Log{Level: hclog.Debug, Format: config.FormatJSON}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := (&config.Config{Name: "n1", Log: tt.log}).NewLogger(&buf)
			l.Debug("dbg")
			l.Info("hello", "k", "v")
			out := buf.String()
			assert.Contains(t, out, "hello")
			assert.Equal(t, tt.debugOK, strings.Contains(out, "dbg"))
			lines := strings.Split(strings.TrimSpace(out), "\n")
			var m map[string]any
			isJSON := json.Unmarshal([]byte(lines[len(lines)-1]), &m) == nil
			assert.Equal(t, tt.json, isJSON, out)
			assert.Contains(t, out, "n1")
		})
	}
}

func TestErrorWithoutPosition(t *testing.T) {
	e := &config.Error{Message: "boom"}
	assert.Equal(t, "boom", e.Error())
	assert.True(t, errors.Is(e, config.ErrInvalid))
}

func TestDynamicPoolAndLimitsReachTheNode(t *testing.T) {
	c, err := config.Parse([]byte(`
limits {
  memory_soft = "1GiB"
}
pool "burst" {
  kind        = "io"
  min_workers = 1
  max_workers = 4
  aging       = "250ms"
  shed        = true
  stuck_grace = "3s"
}
`), "t.hcl")
	require.NoError(t, err)
	p := c.Pools[0]
	assert.Equal(t, 1, p.MinWorkers)
	assert.Equal(t, 4, p.MaxWorkers)
	assert.Equal(t, 250*time.Millisecond, p.Aging)
	assert.True(t, p.Shed)
	assert.Equal(t, 3*time.Second, p.StuckGrace)
	opts, err := c.NodeOptions(nil)
	require.NoError(t, err)
	n, err := actors.NewNode(opts...)
	require.NoError(t, err)
	defer n.Shutdown(context.Background())
	st := n.Stats()
	assert.Equal(t, 4, st.Pools[0].MaxWorkers)
	assert.Equal(t, "normal", st.Pressure)
}
