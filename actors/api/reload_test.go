package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/api"
)

// TestReloadRoute: POST /v1/admin/reload runs the node's reload only behind
// the API's authentication, and reports what it applied and kept, or why
// it changed nothing.
func TestReloadRoute(t *testing.T) {
	pool := actors.PoolConfig{Name: "p", Workers: 1}
	calls := 0
	fail, stopping := false, false
	reload := func(context.Context) ([]string, []api.Kept, error) {
		calls++
		if stopping {
			return nil, nil, fmt.Errorf("%w: the node is stopping", actors.ErrShuttingDown)
		}
		if fail {
			return nil, nil, errors.New("node.hcl:3:1: bad")
		}
		return []string{`pool "p": workers`}, []api.Kept{{Setting: "name", Reason: "fixed"}}, nil
	}

	open := newFixture(t, pool, api.WithReload(reload))
	code, _, body := httpDo(t, nil, http.MethodPost, "http://"+open.addr+"/v1/admin/reload", "", nil)
	assert.Equal(t, http.StatusForbidden, code, "no authentication configured")
	assert.Contains(t, body["error"].(map[string]any)["message"], "authentication")
	assert.Zero(t, calls)

	none := newFixture(t, pool, api.WithToken("t"))
	code, _, _ = httpDo(t, nil, http.MethodPost, "http://"+none.addr+"/v1/admin/reload", "t", nil)
	assert.Equal(t, http.StatusNotFound, code, "no reload function")

	fx := newFixture(t, pool, api.WithToken("t"), api.WithReload(reload))
	url := "http://" + fx.addr + "/v1/admin/reload"
	code, _, _ = httpDo(t, nil, http.MethodPost, url, "wrong", nil)
	assert.Equal(t, http.StatusUnauthorized, code)
	code, _, body = httpDo(t, nil, http.MethodPost, url, "t", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, []any{`pool "p": workers`}, body["applied"])
	assert.Equal(t, []any{map[string]any{"setting": "name", "reason": "fixed"}}, body["kept"])
	fail = true
	code, _, body = httpDo(t, nil, http.MethodPost, url, "t", nil)
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Equal(t, "INVALID_CONFIG", body["error"].(map[string]any)["code"])
	stopping = true
	code, _, body = httpDo(t, nil, http.MethodPost, url, "t", nil)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "SHUTTING_DOWN", body["error"].(map[string]any)["code"])
	assert.Equal(t, 3, calls)

	_, err := api.Listen("127.0.0.1:0", fx.node, api.WithReload(nil))
	assert.ErrorIs(t, err, api.ErrInvalidConfig)
}
