package api

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/drover-go/drover/actors"
)

// Kept is a setting that a reload could not change while the node runs,
// and why.
type Kept struct {
	// Setting names it as the file does (`pool "work": concurrency`).
	Setting string `json:"setting"`
	// Reason says why it waits for a restart.
	Reason string `json:"reason"`
}

// ReloadFunc reads the node's configuration again and applies what a
// running node can change. It returns what it applied and what waits for a
// restart; an error means the configuration was not applied (a file that
// does not parse, say), and the node runs on as it was.
type ReloadFunc func(ctx context.Context) (applied []string, kept []Kept, err error)

// WithReload serves POST /v1/admin/reload, which calls f and answers
// {"applied": [...], "kept": [{"setting", "reason"}]}, 422 with the error
// (nothing changed), or 503 once the node is stopping (an error wrapping
// actors.ErrShuttingDown). The route is behind the API's authentication: a server with
// neither a token (WithToken) nor mutual TLS (WithTLS verifying client
// certificates) answers it 403, whatever else it serves.
func WithReload(f ReloadFunc) Option {
	return func(o *options) error {
		if f == nil {
			return fmt.Errorf("%w: WithReload: the function is nil", ErrInvalidConfig)
		}
		o.reload = f
		return nil
	}
}

// authenticated reports whether the server asks its clients who they are:
// a token, or client certificates.
func (s *Server) authenticated() bool {
	return s.o.token != nil || s.o.tls != nil && s.o.tls.ClientAuth == tls.RequireAndVerifyClientCert
}

func (s *Server) postReload(w http.ResponseWriter, r *http.Request) {
	switch {
	case s.o.reload == nil:
		writeError(w, http.StatusNotFound, "NOT_FOUND", "api: this node does not reload over the API")
		return
	case !s.authenticated():
		writeError(w, http.StatusForbidden, "PERMISSION_DENIED", "api: a reload needs the API's authentication: a token (token_file, token_env) or mutual TLS")
		return
	}
	applied, kept, err := s.o.reload(r.Context())
	switch {
	case errors.Is(err, actors.ErrShuttingDown):
		writeError(w, http.StatusServiceUnavailable, "SHUTTING_DOWN", err.Error())
		return
	case err != nil:
		writeError(w, http.StatusUnprocessableEntity, "INVALID_CONFIG", err.Error())
		return
	}
	if applied == nil {
		applied = []string{}
	}
	if kept == nil {
		kept = []Kept{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(struct {
		Applied []string `json:"applied"`
		Kept    []Kept   `json:"kept"`
	}{applied, kept})
}
