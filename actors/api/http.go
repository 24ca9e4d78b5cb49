package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/protos"
)

var (
	jsonOut = protojson.MarshalOptions{UseProtoNames: true}
	jsonIn  = protojson.UnmarshalOptions{}
)

// httpHandler serves the HTTP/JSON form of the API.
func (s *Server) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/tasks", s.postTask)
	mux.HandleFunc("GET /v1/tasks/{id}", s.getTask)
	mux.HandleFunc("DELETE /v1/tasks/{id}", s.deleteTask)
	mux.HandleFunc("POST /v1/admin/reload", s.postReload)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r.Header.Get("Authorization")) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="drover"`)
			writeError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "api: a bearer token is required (Authorization: Bearer TOKEN)")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// DecodeTask decodes an HTTP request body, a TaskEnvelope in protojson,
// as POST /v1/tasks does. Unknown fields are an error.
func DecodeTask(body []byte) (*protos.TaskEnvelope, error) {
	env := &protos.TaskEnvelope{}
	if err := jsonIn.Unmarshal(body, env); err != nil {
		return nil, fmt.Errorf("%w: the body is not a task in JSON (protojson of drover.v1.TaskEnvelope): %w", actors.ErrInvalidTask, err)
	}
	return env, nil
}

func (s *Server) postTask(w http.ResponseWriter, r *http.Request) {
	var wait time.Duration
	if q := r.URL.Query().Get("wait"); q != "" {
		d, err := time.ParseDuration(q)
		if err != nil || d < 0 {
			writeError(w, http.StatusBadRequest, "INVALID_TASK", fmt.Sprintf("api: wait is %q; allowed: a duration from 0s to %s, such as \"1s\"", q, s.o.maxWait))
			return
		}
		wait = s.boundWait(d)
	}
	if d, ok := allow(r.Context()); !ok {
		w.Header().Set("Retry-After", retryAfterHeader(d))
		writeError(w, http.StatusTooManyRequests, "QUEUE_FULL", fmt.Sprintf("api: over the connection's rate limit; retry in %s", d))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(s.o.maxRequest)))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "INVALID_TASK", fmt.Sprintf("api: the body is over %d bytes", s.o.maxRequest))
			return
		}
		writeError(w, http.StatusBadRequest, "INVALID_TASK", "api: reading the body: "+err.Error())
		return
	}
	env, err := DecodeTask(body)
	if err == nil {
		var a accepted
		if a, err = s.submitKept(env, nil, nil); err == nil {
			resp := &protos.SubmitResponse{Id: a.id, Duplicate: a.dup, Node: s.nodeName}
			resp.Result = s.waitEntry(r.Context(), a.e, wait)
			code := http.StatusAccepted
			if resp.Result != nil {
				code = http.StatusOK
			}
			writeJSON(w, code, appendSubmitResponse(nil, resp))
			return
		}
	}
	rf := s.classify(err)
	if rf.retryAfter > 0 {
		w.Header().Set("Retry-After", retryAfterHeader(rf.retryAfter))
	}
	writeError(w, rf.http, reason(rf.code), err.Error())
}

func (s *Server) getTask(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	e, ok := s.tasks.get(id)
	if !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("api: no task %q (unknown, or its result is no longer kept)", id))
		return
	}
	var wait time.Duration
	if q := r.URL.Query().Get("wait"); q != "" {
		d, err := time.ParseDuration(q)
		if err != nil || d < 0 {
			writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", fmt.Sprintf("api: wait is %q; allowed: a duration from 0s to %s, such as \"1s\"", q, s.o.maxWait))
			return
		}
		wait = s.boundWait(d)
	}
	res := s.waitEntry(r.Context(), e, wait)
	writeJSON(w, http.StatusOK, appendTaskStatus(nil, &protos.TaskStatus{Id: id, Done: res != nil, Result: res, Node: s.nodeName}))
}

func (s *Server) deleteTask(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	e, ok := s.tasks.get(id)
	if !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("api: no task %q (unknown, or its result is no longer kept)", id))
		return
	}
	f, _, _ := s.tasks.state(e)
	writeProto(w, http.StatusOK, &protos.CancelResponse{Canceled: f != nil && f.Cancel()})
}

func writeJSON(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

func writeProto(w http.ResponseWriter, code int, m proto.Message) {
	b, err := jsonOut.Marshal(m)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// writeError writes {"error": {"code": ..., "message": ...}}; code is the
// protos.ErrorCode name without ERROR_CODE_, or an HTTP-only code
// (UNAUTHENTICATED, NOT_FOUND, ...).
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Code, body.Error.Message = code, msg
	_ = json.NewEncoder(w).Encode(&body)
}
