package api

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"

	"context"
	"google.golang.org/grpc/stats"
)

// sniffer splits one listener in two by what a connection sends first:
// the HTTP/2 preface ("PRI * HTTP/2.0") goes to gRPC, anything else to
// the HTTP/1.1 server. Under TLS it reads after the handshake. Each
// connection is read in a goroutine of its own, bounded by a deadline, so
// a client that sends nothing holds up no other.
type sniffer struct {
	ln      net.Listener
	tls     *tls.Config
	timeout time.Duration
	grpc    *subListener
	http    *subListener

	closed chan struct{}
	once   sync.Once
	wg     sync.WaitGroup

	mu       sync.Mutex
	sniffing map[net.Conn]struct{} // connections being read; close cuts them
}

func newSniffer(ln net.Listener, cfg *tls.Config, timeout time.Duration) *sniffer {
	m := &sniffer{ln: ln, tls: cfg, timeout: timeout, closed: make(chan struct{}), sniffing: map[net.Conn]struct{}{}}
	m.grpc = &subListener{m: m, conns: make(chan net.Conn)}
	m.http = &subListener{m: m, conns: make(chan net.Conn)}
	return m
}

// Addr returns the listener's address.
func (m *sniffer) Addr() net.Addr { return m.ln.Addr() }

// serve accepts connections until close.
func (m *sniffer) serve() {
	defer m.wg.Wait()
	for {
		c, err := m.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.route(c)
		}()
	}
}

// route reads the start of c and hands it to the listener it belongs to.
func (m *sniffer) route(c net.Conn) {
	m.mu.Lock()
	select {
	case <-m.closed:
		m.mu.Unlock()
		_ = c.Close()
		return
	default:
	}
	m.sniffing[c] = struct{}{}
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.sniffing, c)
		m.mu.Unlock()
	}()
	_ = c.SetDeadline(time.Now().Add(m.timeout))
	if m.tls != nil {
		tc := tls.Server(c, m.tls)
		if err := tc.Handshake(); err != nil {
			_ = c.Close()
			return
		}
		c = tc
	}
	r := bufio.NewReader(c)
	head, err := r.Peek(3)
	if err != nil {
		_ = c.Close()
		return
	}
	_ = c.SetDeadline(time.Time{})
	to := m.http
	if string(head) == "PRI" {
		to = m.grpc
	}
	select {
	case to.conns <- &peekedConn{Conn: c, r: r}:
	case <-m.closed:
		_ = c.Close()
	}
}

func (m *sniffer) close() {
	m.once.Do(func() {
		m.mu.Lock()
		close(m.closed)
		for c := range m.sniffing {
			_ = c.SetDeadline(time.Now()) // its read ends now
		}
		m.mu.Unlock()
		_ = m.ln.Close()
	})
}

// subListener is one side of a sniffer.
type subListener struct {
	m     *sniffer
	conns chan net.Conn
}

// Accept returns the next connection routed to this side.
func (l *subListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.m.closed:
		return nil, net.ErrClosed
	}
}

// Close closes the whole sniffer: both sides share one listener.
func (l *subListener) Close() error { l.m.close(); return nil }

// Addr returns the shared listener's address.
func (l *subListener) Addr() net.Addr { return l.m.ln.Addr() }

// peekedConn reads first what the sniffer peeked.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

// Read reads the peeked bytes first, then the connection.
func (c *peekedConn) Read(b []byte) (int, error) {
	if c.r != nil {
		if c.r.Buffered() > 0 {
			return c.r.Read(b)
		}
		c.r = nil // past the peeked bytes: read the connection itself
	}
	return c.Conn.Read(b)
}

// connTagger gives every gRPC connection its rate limiter.
type connTagger struct{ s *Server }

// TagConn gives the connection's context its rate limiter.
func (t connTagger) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return t.s.withLimiter(ctx)
}

// HandleConn does nothing.
func (connTagger) HandleConn(context.Context, stats.ConnStats) {}

// TagRPC does nothing.
func (connTagger) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	return ctx
}

// HandleRPC does nothing.
func (connTagger) HandleRPC(context.Context, stats.RPCStats) {}
