package cluster_test

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drover-go/drover/actors/cluster"
)

func TestNewMemberRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		opt  cluster.Option
		says string
	}{
		{"empty name", cluster.WithName(""), "WithName"},
		{"bind without port", cluster.WithBind("127.0.0.1"), "WithBind"},
		{"bind port out of range", cluster.WithBind("127.0.0.1:70000"), "WithBind"},
		{"advertised port zero", cluster.WithAdvertisedAddress("10.0.0.1:0"), "WithAdvertisedAddress"},
		{"empty cluster name", cluster.WithClusterName(""), "WithClusterName"},
		{"nil provider", cluster.WithProvider(nil), "WithProvider"},
		{"automanaged port", cluster.WithProvider(cluster.Automanaged{Port: -1}), "Automanaged.Port"},
		{"automanaged seed", cluster.WithProvider(cluster.Automanaged{Seeds: []string{"nohost"}}), "Automanaged.Seeds"},
		{"automanaged refresh", cluster.WithProvider(cluster.Automanaged{Refresh: -time.Second}), "Automanaged.Refresh"},
		{"etcd without endpoints", cluster.WithProvider(cluster.Etcd{}), "Etcd.Endpoints"},
		{"nil TLS", cluster.WithTLS(nil), "WithTLS"},
		{"TLS without certificate", cluster.WithTLS(&tls.Config{}), "Certificates"},
		{"nil logger", cluster.WithLogger(nil), "WithLogger"},
		{"report too often", cluster.WithReportEvery(time.Millisecond, 0), "every"},
		{"stale before a report", cluster.WithReportEvery(time.Second, time.Second), "staleAfter"},
		{"unknown strategy", cluster.WithStrategy("fastest"), "least-busy"},
		{"no dispatch", cluster.WithMaxDispatch(0), "WithMaxDispatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := cluster.NewMember(tt.opt)
			require.Error(t, err)
			assert.Nil(t, m)
			assert.ErrorIs(t, err, cluster.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.says)
		})
	}
}

func TestLoadTLS(t *testing.T) {
	ca := newTestCA(t, "load")
	cert, key := ca.issue(t, "m")
	cfg, err := cluster.LoadTLS(ca.file, cert, key)
	require.NoError(t, err)
	assert.Len(t, cfg.Certificates, 1)
	assert.NotNil(t, cfg.RootCAs)
	assert.Equal(t, tls.RequireAndVerifyClientCert, cfg.ClientAuth)
	_, err = cluster.NewMember(cluster.WithTLS(cfg), cluster.WithName(""))
	assert.ErrorContains(t, err, "WithName", "a valid TLS config passes validation")

	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	require.NoError(t, os.WriteFile(garbage, []byte("not a certificate"), 0o600))
	tests := []struct {
		name              string
		caFile, cert, key string
		says              string
	}{
		{"no CA file", filepath.Join(t.TempDir(), "none.pem"), cert, key, "CA"},
		{"CA file without PEM", garbage, cert, key, "no PEM certificate"},
		{"key of another certificate", ca.file, cert, garbage, "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cluster.LoadTLS(tt.caFile, tt.cert, tt.key)
			require.Error(t, err)
			assert.True(t, errors.Is(err, cluster.ErrInvalidConfig))
			assert.Contains(t, err.Error(), tt.says)
		})
	}
}

func TestEventString(t *testing.T) {
	tests := []struct {
		e    cluster.Event
		want string
	}{
		{cluster.Event{Kind: cluster.EventJoined, Member: cluster.MemberInfo{Name: "b", Address: "127.0.0.1:9"}}, "member b (127.0.0.1:9) joined"},
		{cluster.Event{Kind: cluster.EventLeft, Member: cluster.MemberInfo{Name: "b", Address: "127.0.0.1:9"}, Reason: "lost its connection"}, "member b (127.0.0.1:9) left: lost its connection"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) { assert.Equal(t, tt.want, tt.e.String()) })
	}
}

func TestNewMemberBusyPorts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	busy := ln.Addr().String()
	_, port, err := net.SplitHostPort(busy)
	require.NoError(t, err)
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	tests := []struct {
		name string
		opts []cluster.Option
		says string
	}{
		{"remote port", []cluster.Option{cluster.WithBind(busy)}, busy},
		{"automanaged port", []cluster.Option{cluster.WithProvider(cluster.Automanaged{Port: p})}, "automanaged HTTP port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := cluster.NewMember(tt.opts...)
			require.Error(t, err)
			assert.Nil(t, m)
			assert.ErrorIs(t, err, cluster.ErrStart)
			assert.Contains(t, err.Error(), tt.says)
		})
	}
}
