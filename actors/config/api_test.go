package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors/config"
)

func TestParseAPI(t *testing.T) {
	c, err := config.Parse([]byte(`
api {
  address     = "0.0.0.0:7070"
  token_env   = "DROVER_TEST_TOKEN"
  max_request = "1MiB"
  rate_limit  = 500
  rate_burst  = 50
  window      = 64
}
`), "node.hcl")
	require.NoError(t, err)
	require.NotNil(t, c.API)
	assert.Equal(t, config.API{Address: "0.0.0.0:7070", TokenEnv: "DROVER_TEST_TOKEN", MaxRequest: 1 << 20, RateLimit: 500, RateBurst: 50, Window: 64}, *c.API)

	t.Setenv("DROVER_TEST_TOKEN", "s3cret")
	addr, opts, err := c.APIOptions()
	require.NoError(t, err)
	assert.Equal(t, "0.0.0.0:7070", addr)
	assert.Len(t, opts, 4)

	t.Setenv("DROVER_TEST_TOKEN", "")
	_, _, err = c.APIOptions()
	require.ErrorIs(t, err, config.ErrInvalid)
	assert.Contains(t, err.Error(), "DROVER_TEST_TOKEN")

	none, err := config.Parse([]byte(`name = "x"`), "node.hcl")
	require.NoError(t, err)
	assert.Nil(t, none.API)
	addr, opts, err = none.APIOptions()
	require.NoError(t, err)
	assert.Empty(t, addr)
	assert.Empty(t, opts)
}

func TestParseAPIRefusesBadValues(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"address", `api { address = "nowhere" }`, "api.address"},
		{"both tokens", `api {
  token_file = "t"
  token_env  = "T"
}`, "not both"},
		{"window", `api { window = 0 }`, "api.window"},
		{"unknown", `api { port = 1 }`, `unknown field "api.port"`},
		{"tls incomplete", `api {
  tls { ca_file = "ca.pem" }
}`, "api.tls.cert_file is missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tc.src), "node.hcl")
			require.ErrorIs(t, err, config.ErrInvalid)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestAPITokenFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(file, []byte("  tok\n"), 0o600))
	c := &config.Config{API: &config.API{TokenFile: file}}
	addr, opts, err := c.APIOptions()
	require.NoError(t, err)
	assert.Equal(t, config.DefaultAPIAddress, addr)
	assert.Len(t, opts, 1)
	require.NoError(t, os.WriteFile(file, []byte("\n"), 0o600))
	_, _, err = c.APIOptions()
	require.ErrorIs(t, err, config.ErrInvalid)
}
