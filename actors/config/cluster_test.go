package config_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors/config"
)

func TestParseCluster(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want *config.ClusterConfig
	}{
		{"every field", `
cluster {
  name         = "prod"
  bind         = "0.0.0.0:7000"
  advertise    = "203.0.113.7:7000"
  strategy     = "weighted"
  report_every = "500ms"
  automanaged {
    port  = 6331
    seeds = ["127.0.0.1:6331", "127.0.0.1:6332"]
  }
  tls {
    ca_file   = "ca.crt"
    cert_file = "a.crt"
    key_file  = "a.key"
  }
}
`, &config.ClusterConfig{
			Name: "prod", Bind: "0.0.0.0:7000", Advertise: "203.0.113.7:7000", Strategy: "weighted",
			ReportEvery: 500 * time.Millisecond,
			Automanaged: &config.Automanaged{Port: 6331, Seeds: []string{"127.0.0.1:6331", "127.0.0.1:6332"}},
			TLS:         &config.TLSFiles{CAFile: "ca.crt", CertFile: "a.crt", KeyFile: "a.key"},
		}},
		{"an empty block takes the defaults: a member alone", "cluster {}\n", &config.ClusterConfig{
			Name: "drover", Bind: "127.0.0.1:0", Strategy: "least-busy", ReportEvery: 200 * time.Millisecond,
			Automanaged: &config.Automanaged{},
		}},
		{"etcd", "cluster {\n  etcd {\n    endpoints = [\"127.0.0.1:2379\"]\n  }\n}\n", &config.ClusterConfig{
			Name: "drover", Bind: "127.0.0.1:0", Strategy: "least-busy", ReportEvery: 200 * time.Millisecond,
			Etcd: &config.Etcd{Endpoints: []string{"127.0.0.1:2379"}, BaseKey: "/drover"},
		}},
		{"etcd and membership tunables", `
cluster {
  lost_after = "3s"
  etcd {
    endpoints       = ["127.0.0.1:2379"]
    lease_ttl       = "2s"
    heartbeat       = "500ms"
    request_timeout = "800ms"
    dial_timeout    = "2s"
  }
}
`, &config.ClusterConfig{
			Name: "drover", Bind: "127.0.0.1:0", Strategy: "least-busy", ReportEvery: 200 * time.Millisecond, LostAfter: 3 * time.Second,
			Etcd: &config.Etcd{Endpoints: []string{"127.0.0.1:2379"}, BaseKey: "/drover", LeaseTTL: 2 * time.Second,
				Heartbeat: 500 * time.Millisecond, RequestTimeout: 800 * time.Millisecond, DialTimeout: 2 * time.Second},
		}},
		{"automanaged tunables", "cluster {\n  automanaged {\n    refresh = \"100ms\"\n    timeout = \"300ms\"\n  }\n}\n", &config.ClusterConfig{
			Name: "drover", Bind: "127.0.0.1:0", Strategy: "least-busy", ReportEvery: 200 * time.Millisecond,
			Automanaged: &config.Automanaged{Refresh: 100 * time.Millisecond, Timeout: 300 * time.Millisecond},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse([]byte(tt.src), "t.hcl")
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.Cluster)
			require.NoError(t, c.Validate())
			opts, err := c.ClusterOptions()
			if tt.want.TLS != nil {
				assert.ErrorIs(t, err, os.ErrNotExist, "the files do not exist")
				return
			}
			require.NoError(t, err)
			assert.NotEmpty(t, opts)
		})
	}
	t.Run("no block, no cluster", func(t *testing.T) {
		c, err := config.Parse([]byte(`name = "a"`), "t.hcl")
		require.NoError(t, err)
		assert.Nil(t, c.Cluster)
		opts, err := c.ClusterOptions()
		require.NoError(t, err)
		assert.Nil(t, opts)
	})
}

func TestParseClusterErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"unknown field", "cluster {\n  seeds = []\n}\n",
			`t.hcl:2:3: unknown field "cluster.seeds"; allowed: name, bind, advertise, strategy, report_every, lost_after`},
		{"unknown block", "cluster {\n  consul {\n  }\n}\n",
			`t.hcl:2:3: unknown block "cluster.consul"; allowed: automanaged, etcd, tls`},
		{"unknown automanaged field", "cluster {\n  automanaged {\n    ttl = \"1s\"\n  }\n}\n",
			`t.hcl:3:5: unknown field "cluster.automanaged.ttl"; allowed: port, seeds, refresh, timeout`},
		{"automanaged timeout too long", "cluster {\n  automanaged {\n    timeout = \"2m\"\n  }\n}\n",
			`t.hcl:3:15: cluster.automanaged.timeout is "2m"; allowed: a duration from 10ms to 1m, such as "700ms"`},
		{"etcd lease in milliseconds", "cluster {\n  etcd {\n    endpoints = [\"e:2379\"]\n    lease_ttl = \"1500ms\"\n  }\n}\n",
			`t.hcl:4:17: cluster.etcd.lease_ttl is "1500ms"; allowed: whole seconds from 1s to 1m, such as "3s"`},
		{"etcd heartbeat not below the lease", "cluster {\n  etcd {\n    endpoints = [\"e:2379\"]\n    lease_ttl = \"2s\"\n    heartbeat = \"2s\"\n  }\n}\n",
			`t.hcl:5:17: cluster.etcd.heartbeat is "2s"; allowed: a duration from 10ms to less than lease_ttl (3s when unset), such as "1s"`},
		{"lost_after too short", "cluster {\n  lost_after = \"1ms\"\n}\n",
			`t.hcl:2:16: cluster.lost_after is "1ms"; allowed: a duration from 20ms to 10m, such as "4s"`},
		{"both providers", "cluster {\n  automanaged {\n  }\n  etcd {\n    endpoints = [\"127.0.0.1:2379\"]\n  }\n}\n",
			`t.hcl:4:3: cluster.etcd block with a cluster.automanaged block (line 2); allowed: one provider block: automanaged { ... } or etcd { ... }`},
		{"both providers, etcd first", "cluster {\n  etcd {\n    endpoints = [\"e:2379\"]\n  }\n  automanaged {\n  }\n}\n",
			`t.hcl:5:3: cluster.automanaged block with a cluster.etcd block (line 2); allowed: one provider block: automanaged { ... } or etcd { ... }`},
		{"two automanaged blocks", "cluster {\n  automanaged {\n  }\n  automanaged {\n  }\n}\n",
			`t.hcl:4:3: cluster.automanaged block is declared twice (first at line 2); allowed: one cluster.automanaged block`},
		{"tls without key_file", "cluster {\n  tls {\n    ca_file   = \"ca.crt\"\n    cert_file = \"a.crt\"\n  }\n}\n",
			`t.hcl:2:3: cluster.tls.key_file is missing; allowed: the path of a PEM file; ca_file, cert_file and key_file are all required`},
		{"tls empty", "cluster {\n  tls {\n  }\n}\n",
			"t.hcl:2:3: cluster.tls.ca_file is missing; allowed: the path of a PEM file; ca_file, cert_file and key_file are all required\n" +
				"t.hcl:2:3: cluster.tls.cert_file is missing; allowed: the path of a PEM file; ca_file, cert_file and key_file are all required\n" +
				"t.hcl:2:3: cluster.tls.key_file is missing; allowed: the path of a PEM file; ca_file, cert_file and key_file are all required"},
		{"tls empty file name", "cluster {\n  tls {\n    ca_file   = \"\"\n    cert_file = \"a.crt\"\n    key_file  = \"a.key\"\n  }\n}\n",
			`t.hcl:3:17: cluster.tls.ca_file is ""; allowed: the path of a PEM file`},
		{"bind without port", "cluster {\n  bind = \"127.0.0.1\"\n}\n",
			`t.hcl:2:10: cluster.bind is "127.0.0.1"; allowed: host:port with a port from 0 to 65535, such as "10.0.0.1:7000" (port 0 picks a free one)`},
		{"bind port out of range", "cluster {\n  bind = \"127.0.0.1:65536\"\n}\n",
			`t.hcl:2:10: cluster.bind is "127.0.0.1:65536"; allowed: host:port with a port from 0 to 65535, such as "10.0.0.1:7000" (port 0 picks a free one)`},
		{"advertise port 0", "cluster {\n  advertise = \"10.0.0.1:0\"\n}\n",
			`t.hcl:2:15: cluster.advertise is "10.0.0.1:0"; allowed: host:port with a port from 1 to 65535, such as "203.0.113.7:7000"`},
		{"bad cluster name", "cluster {\n  name = \"a b\"\n}\n",
			`t.hcl:2:10: cluster.name is "a b"; allowed: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit`},
		{"unknown strategy", "cluster {\n  strategy = \"nearest\"\n}\n",
			`t.hcl:2:14: cluster.strategy is "nearest"; allowed: round-robin, weighted, least-busy, random, p2c, consistent-hash`},
		{"report_every too short", "cluster {\n  report_every = \"1ms\"\n}\n",
			`t.hcl:2:18: cluster.report_every is "1ms"; allowed: a duration from 10ms to 1m, such as "200ms"`},
		{"automanaged port", "cluster {\n  automanaged {\n    port = 70000\n  }\n}\n",
			`t.hcl:3:12: cluster.automanaged.port is 70000; allowed: 0 to 65535`},
		{"automanaged seed without port", "cluster {\n  automanaged {\n    seeds = [\"127.0.0.1:6331\", \"b\"]\n  }\n}\n",
			`t.hcl:3:13: cluster.automanaged.seeds is ["127.0.0.1:6331", "b"]; allowed: a list of host:port with ports from 1 to 65535, such as ["10.0.0.1:6331", "10.0.0.2:6331"]`},
		{"etcd without endpoints", "cluster {\n  etcd {\n    base_key = \"/x\"\n  }\n}\n",
			`t.hcl:2:3: cluster.etcd.endpoints is missing; allowed: a list of one etcd endpoint or more, such as ["127.0.0.1:2379"]`},
		{"etcd empty endpoints", "cluster {\n  etcd {\n    endpoints = []\n  }\n}\n",
			`t.hcl:3:17: cluster.etcd.endpoints is []; allowed: a list of one etcd endpoint or more, such as ["127.0.0.1:2379"]`},
		{"cluster block twice", "cluster {}\ncluster {}\n",
			`t.hcl:2:1: cluster block is declared twice (first at line 1); allowed: one cluster block`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse([]byte(tt.src), "t.hcl")
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Equal(t, tt.want, err.Error())
			assert.ErrorIs(t, err, config.ErrInvalid)
		})
	}
}

func TestValidateCluster(t *testing.T) {
	tests := []struct {
		name string
		c    config.ClusterConfig
		want string
	}{
		{"zero", config.ClusterConfig{}, ""},
		{"bad bind", config.ClusterConfig{Bind: "nope"},
			`cluster.bind is "nope"; allowed: host:port with a port from 0 to 65535, such as "10.0.0.1:7000" (port 0 picks a free one)`},
		{"both providers", config.ClusterConfig{Automanaged: &config.Automanaged{}, Etcd: &config.Etcd{Endpoints: []string{"e:2379"}}},
			`cluster.automanaged and cluster.etcd are both set; allowed: one provider block: automanaged { ... } or etcd { ... }`},
		{"tls without cert", config.ClusterConfig{TLS: &config.TLSFiles{CAFile: "ca", KeyFile: "k"}},
			`cluster.tls.cert_file is missing; allowed: the path of a PEM file; ca_file, cert_file and key_file are all required`},
		{"seed and port", config.ClusterConfig{Automanaged: &config.Automanaged{Port: -1, Seeds: []string{"x"}}},
			"cluster.automanaged.port is -1; allowed: 0 to 65535\n" +
				`cluster.automanaged.seeds is "x"; allowed: a list of host:port with ports from 1 to 65535, such as ["10.0.0.1:6331", "10.0.0.2:6331"]`},
		{"etcd without endpoints", config.ClusterConfig{Etcd: &config.Etcd{}},
			`cluster.etcd.endpoints is missing; allowed: a list of one etcd endpoint or more, such as ["127.0.0.1:2379"]`},
		{"etcd tunables", config.ClusterConfig{Etcd: &config.Etcd{Endpoints: []string{"e:2379"}, LeaseTTL: 1500 * time.Millisecond, Heartbeat: time.Hour}},
			"cluster.etcd.lease_ttl is \"1.5s\"; allowed: whole seconds from 1s to 1m, such as \"3s\"\n" +
				`cluster.etcd.heartbeat is "1h"; allowed: a duration from 10ms to less than lease_ttl (3s when unset), such as "1s"`},
		{"strategy and report", config.ClusterConfig{Strategy: "x", ReportEvery: 2 * time.Minute},
			"cluster.strategy is \"x\"; allowed: round-robin, weighted, least-busy, random, p2c, consistent-hash\n" +
				`cluster.report_every is "2m"; allowed: a duration from 10ms to 1m, such as "200ms"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &config.Config{Cluster: &tt.c}
			err := c.Validate()
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
			assert.ErrorIs(t, err, config.ErrInvalid)
			_, err = c.ClusterOptions()
			assert.ErrorIs(t, err, config.ErrInvalid, "ClusterOptions validates")
		})
	}
}

func TestClusterOptionsTLS(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeTestCerts(t, dir)
	c := &config.Config{Name: "a", Cluster: &config.ClusterConfig{TLS: &config.TLSFiles{CAFile: ca, CertFile: cert, KeyFile: key}}}
	opts, err := c.ClusterOptions()
	require.NoError(t, err)
	assert.Len(t, opts, 7, "name, cluster name, bind, strategy, report, provider, tls")

	c.File = "node.hcl"
	c.Cluster.TLS.KeyFile = filepath.Join(dir, "none.key")
	_, err = c.ClusterOptions()
	require.Error(t, err)
	assert.ErrorIs(t, err, config.ErrInvalid)
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.Contains(t, err.Error(), "config: invalid configuration: node.hcl: cluster.tls: cluster: ")
}

// writeTestCerts writes a CA and a member certificate signed by it, for
// loopback, and returns the paths of the CA, the certificate and its key.
func writeTestCerts(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	memberKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "member"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caTmpl, &memberKey.PublicKey, caKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(memberKey)
	require.NoError(t, err)
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600))
		return p
	}
	return write("ca.crt", "CERTIFICATE", caDER), write("a.crt", "CERTIFICATE", der), write("a.key", "EC PRIVATE KEY", keyDER)
}
