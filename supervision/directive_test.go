package supervision

import (
	"encoding/json"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDirectiveString(t *testing.T) {
	tests := []struct {
		d     Directive
		want  string
		actor actor.Directive
	}{
		{Restart, "restart", actor.RestartDirective},
		{Stop, "stop", actor.StopDirective},
		{Resume, "resume", actor.ResumeDirective},
		{Escalate, "escalate", actor.EscalateDirective},
		{Directive(9), "Directive(9)", actor.StopDirective},
		{Directive(-1), "Directive(-1)", actor.StopDirective},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.d.String())
			assert.Equal(t, tt.actor, tt.d.actorDirective())
		})
	}
	var zero Directive
	assert.Equal(t, Restart, zero)
	assert.Equal(t, Restart, DefaultDecider("boom"))
}

func TestScopeString(t *testing.T) {
	tests := []struct {
		s    Scope
		want string
	}{
		{OneForOne, "one-for-one"},
		{AllForOne, "all-for-one"},
		{RestForOne, "rest-for-one"},
		{Scope(3), "Scope(3)"},
		{Scope(-1), "Scope(-1)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.s.String())
		})
	}
	var zero Scope
	assert.Equal(t, OneForOne, zero)
}

func TestParseScope(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Scope
		wantErr []string
	}{
		{name: "one-for-one", in: "one-for-one", want: OneForOne},
		{name: "all-for-one", in: "all-for-one", want: AllForOne},
		{name: "rest-for-one", in: "rest-for-one", want: RestForOne},
		{name: "empty means default", in: "", want: OneForOne},
		{name: "unknown", in: "one_for_one",
			wantErr: []string{`supervision: Scope is "one_for_one"; allowed: "one-for-one", "all-for-one" or "rest-for-one"`}},
		{name: "case matters", in: "One-For-One",
			wantErr: []string{`supervision: Scope is "One-For-One"; allowed: "one-for-one", "all-for-one" or "rest-for-one"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseScope(tt.in)
			assertConfigErrors(t, err, tt.wantErr)
			if err == nil {
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

func TestScopeText(t *testing.T) {
	type config struct {
		Scope Scope `json:"scope"`
	}
	for _, s := range []Scope{OneForOne, AllForOne, RestForOne} {
		t.Run(s.String(), func(t *testing.T) {
			data, err := json.Marshal(config{Scope: s})
			require.NoError(t, err)
			assert.JSONEq(t, `{"scope":"`+s.String()+`"}`, string(data))
			var back config
			require.NoError(t, json.Unmarshal(data, &back))
			assert.Equal(t, s, back.Scope)
		})
	}
	t.Run("invalid", func(t *testing.T) {
		_, err := json.Marshal(config{Scope: Scope(7)})
		assert.ErrorIs(t, err, ErrInvalidConfig)
		var c config
		assert.ErrorIs(t, json.Unmarshal([]byte(`{"scope":"some-for-one"}`), &c), ErrInvalidConfig)
	})
}
