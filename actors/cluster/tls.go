package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math"
	"os"

	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// LoadTLS reads a CA certificate and a member's certificate and key (PEM
// files) and returns a config for WithTLS: the member's certificate, the
// CA as RootCAs and ClientCAs, client certificates required, TLS 1.2 or
// later. It is safe to call concurrently.
func LoadTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("%w: LoadTLS: CA: %w", ErrInvalidConfig, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%w: LoadTLS: CA file %s holds no PEM certificate", ErrInvalidConfig, caFile)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("%w: LoadTLS: certificate: %w", ErrInvalidConfig, err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// maxMessage bounds one gRPC message of the remote. The endpoint writer
// packs up to its batch size of messages into one gRPC message, so the
// default of 4 MiB would drop the connection under a burst of large
// payloads; task payloads are bounded by the nodes (actors.WithMaxPayload).
const maxMessage = math.MaxInt32

// remoteOptions returns the remote's gRPC options: mTLS when configured,
// and message bounds large enough for batches.
func (c *config) remoteOptions() []remote.ConfigOption {
	server := []grpc.ServerOption{grpc.MaxRecvMsgSize(maxMessage)}
	dial := []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage))}
	if c.tls != nil {
		srv := c.tls.Clone()
		srv.ClientAuth = tls.RequireAndVerifyClientCert
		if srv.ClientCAs == nil {
			srv.ClientCAs = srv.RootCAs
		}
		if srv.MinVersion == 0 {
			srv.MinVersion = tls.VersionTLS12
		}
		cli := c.tls.Clone()
		if cli.MinVersion == 0 {
			cli.MinVersion = tls.VersionTLS12
		}
		server = append(server, grpc.Creds(credentials.NewTLS(srv)))
		dial = append(dial, grpc.WithTransportCredentials(credentials.NewTLS(cli)))
	} else {
		dial = append(dial, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	opts := []remote.ConfigOption{remote.WithServerOptions(server...), remote.WithDialOptions(dial...)}
	if c.advertised != "" {
		opts = append(opts, remote.WithAdvertisedHost(c.advertised))
	}
	return opts
}
