package api_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/actors/api"
	"github.com/drover-go/drover/actors/client"
)

// fixture is a node serving the task API on loopback, with the task types
// echo (returns its payload) and block (returns once release closes or
// its context ends, and says on started that it began).
type fixture struct {
	node    *actors.Node
	srv     *api.Server
	addr    string
	release chan struct{}
	started chan struct{}
	ended   chan error  // a block handler's context ended: why
	runs    chan string // echo's payloads, in the order run
}

func newFixture(t *testing.T, pool actors.PoolConfig, opts ...api.Option) *fixture {
	t.Helper()
	fx := &fixture{release: make(chan struct{}), started: make(chan struct{}, 10000), ended: make(chan error, 10000), runs: make(chan string, 10000)}
	n, err := actors.NewNode(actors.WithName("api-test"), actors.WithPool(pool),
		actors.WithHandler("echo", func(_ context.Context, b []byte) ([]byte, error) {
			select {
			case fx.runs <- string(b):
			default:
			}
			return b, nil
		}),
		actors.WithHandler("fail", func(_ context.Context, b []byte) ([]byte, error) {
			return nil, fmt.Errorf("failed on %s", b)
		}),
		actors.WithHandler("block", func(ctx context.Context, _ []byte) ([]byte, error) {
			fx.started <- struct{}{}
			select {
			case <-fx.release:
				return []byte("released"), nil
			case <-ctx.Done():
				fx.ended <- context.Cause(ctx)
				return nil, ctx.Err()
			}
		}))
	require.NoError(t, err)
	srv, err := api.Listen("127.0.0.1:0", n, opts...)
	if err != nil {
		_, _ = n.Shutdown(context.Background())
		require.NoError(t, err)
	}
	fx.node, fx.srv, fx.addr = n, srv, srv.Addr().String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		select {
		case <-fx.release:
		default:
			close(fx.release)
		}
		_, _ = n.Shutdown(ctx)
		require.NoError(t, srv.Shutdown(ctx))
	})
	return fx
}

func (fx *fixture) dial(t *testing.T, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.Dial(fx.addr, opts...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c
}

// waitStarted waits for n block handlers to start.
func (fx *fixture) waitStarted(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for i := 0; i < n; i++ {
		select {
		case <-fx.started:
		case <-timeout:
			t.Fatalf("%d of %d block handlers started within 10s", i, n)
		}
	}
}

// httpDo sends a request and returns the status, the headers and the body
// decoded as JSON.
func httpDo(t *testing.T, c *http.Client, method, url, token string, body []byte) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), "body %q", b)
	return resp.StatusCode, resp.Header, m
}

// testCA is a certificate authority made at test time.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// leaf issues a certificate for 127.0.0.1, for server and client use.
func (ca *testCA) leaf(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "leaf"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// mtls is a config like cluster.LoadTLS's: the leaf, the CA for both
// directions, client certificates required.
func (ca *testCA) mtls(t *testing.T) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{ca.leaf(t)}, RootCAs: ca.pool, ClientCAs: ca.pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
	}
}
