package admin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Timeouts of the server Start runs. Admin requests are small; a client
// that dawdles longer is cut off.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 60 * time.Second
)

// Server serves an admin handler on an address of its own. Its methods are
// safe for concurrent use.
type Server struct {
	srv  *http.Server
	addr net.Addr
	done chan struct{}

	mu  sync.Mutex
	err error
}

// Start binds addr ("127.0.0.1:9090"; port 0 picks a free one, see Addr)
// and serves h on it from a goroutine of its own until Shutdown. Of the
// options, only WithLogger applies: the server's errors go to it. An
// address that cannot be bound gives an error wrapping ErrListen that
// names it.
func Start(addr string, h http.Handler, opts ...Option) (*Server, error) {
	o := newOptions(opts)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w on %s: %w", ErrListen, addr, err)
	}
	// Requests carry closing in their context: the dashboard's streams,
	// which never end on their own, end when Shutdown begins; other
	// requests run on until Shutdown's deadline.
	closing := make(chan struct{})
	base := context.WithValue(context.Background(), shutdownKey{}, closing)
	s := &Server{
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: readHeaderTimeout,
			ReadTimeout:       readTimeout,
			WriteTimeout:      writeTimeout,
			IdleTimeout:       idleTimeout,
			ErrorLog:          o.errorLog(),
			BaseContext:       func(net.Listener) context.Context { return base },
		},
		addr: ln.Addr(),
		done: make(chan struct{}),
	}
	var once sync.Once
	s.srv.RegisterOnShutdown(func() { once.Do(func() { close(closing) }) })
	go func() {
		defer close(s.done)
		err := s.srv.Serve(ln)
		if !errors.Is(err, http.ErrServerClosed) {
			s.mu.Lock()
			s.err = fmt.Errorf("admin: serving on %s: %w", s.addr, err)
			s.mu.Unlock()
		}
	}()
	return s, nil
}

// Addr returns the address the server listens on, with the port it got.
func (s *Server) Addr() net.Addr { return s.addr }

// Done returns a channel that is closed once the server has stopped
// serving, by Shutdown or by an error (see Err).
func (s *Server) Done() <-chan struct{} { return s.done }

// Err returns why the server stopped serving on its own, or nil while it
// serves and after a Shutdown.
func (s *Server) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Shutdown stops the server: it stops accepting connections, ends the
// dashboard's event streams, lets the requests in progress finish until
// ctx ends, then closes what remains.
// It returns once the serving goroutine has ended, with ctx's error if
// requests had to be cut off. Calls after the first return nil.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	<-s.done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
