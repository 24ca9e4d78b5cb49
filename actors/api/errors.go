package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/runtime/protoiface"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/drover-go/drover/actors"
	"github.com/drover-go/drover/protos"
)

// Sentinel errors. Compare with errors.Is.
var (
	// ErrInsecure is returned by Listen for an address that other machines
	// can reach when neither a token nor TLS protects it and WithInsecure
	// was not given.
	ErrInsecure = errors.New("api: a non-loopback listener needs a token or TLS (or insecure = true)")
	// ErrListen is wrapped by Listen's error when the address cannot be bound.
	ErrListen = errors.New("api: cannot listen")
	// ErrInvalidConfig is wrapped by Listen's error for a bad option.
	ErrInvalidConfig = errors.New("api: invalid config")
)

// ErrorDomain is the domain of the google.rpc.ErrorInfo detail that every
// refusal carries; its reason is the protos.ErrorCode name without the
// ERROR_CODE_ prefix ("QUEUE_FULL"), so that a client can rebuild the
// sentinel error (see actors.ResultError).
const ErrorDomain = "drover"

// refusal is how the wire says a task was refused: a gRPC code, an HTTP
// status and, for overload, a retry delay.
type refusal struct {
	code       protos.ErrorCode
	grpc       codes.Code
	http       int
	retryAfter time.Duration // 0: none
}

// classify maps a refusal from actors.Node.Submit to the wire.
func (s *Server) classify(err error) refusal {
	r := refusal{code: actors.ErrorCode(err)}
	switch r.code {
	case protos.ErrorCode_ERROR_CODE_QUEUE_FULL, protos.ErrorCode_ERROR_CODE_RESOURCE:
		r.grpc, r.http, r.retryAfter = codes.ResourceExhausted, http.StatusTooManyRequests, s.o.retryAfter
	case protos.ErrorCode_ERROR_CODE_CIRCUIT_OPEN:
		r.grpc, r.http, r.retryAfter = codes.Unavailable, http.StatusServiceUnavailable, s.o.retryAfter
	case protos.ErrorCode_ERROR_CODE_SHUTTING_DOWN:
		r.grpc, r.http = codes.Unavailable, http.StatusServiceUnavailable
	case protos.ErrorCode_ERROR_CODE_INVALID_TASK, protos.ErrorCode_ERROR_CODE_NO_HANDLER, protos.ErrorCode_ERROR_CODE_NO_POOL:
		r.grpc, r.http = codes.InvalidArgument, http.StatusBadRequest
	case protos.ErrorCode_ERROR_CODE_QUARANTINED:
		r.grpc, r.http = codes.FailedPrecondition, http.StatusConflict
	case protos.ErrorCode_ERROR_CODE_CANCELED:
		r.grpc, r.http = codes.Canceled, http.StatusBadRequest
	default:
		r.grpc, r.http = codes.Internal, http.StatusInternalServerError
	}
	return r
}

// reason is the ErrorInfo reason of a code: its name without ERROR_CODE_.
func reason(c protos.ErrorCode) string {
	const prefix = "ERROR_CODE_"
	name := c.String()
	if len(name) > len(prefix) {
		return name[len(prefix):]
	}
	return name
}

// grpcError is err, a refusal, as a gRPC status with an ErrorInfo detail
// and, for overload, a RetryInfo detail.
func (s *Server) grpcError(err error) error {
	r := s.classify(err)
	st := status.New(r.grpc, err.Error())
	details := []protoiface.MessageV1{&errdetails.ErrorInfo{Reason: reason(r.code), Domain: ErrorDomain}}
	if r.retryAfter > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(r.retryAfter)})
	}
	if withDetails, derr := st.WithDetails(details...); derr == nil {
		st = withDetails
	}
	return st.Err()
}

// rateError is the refusal of a request over its connection's rate limit.
func rateError(delay time.Duration) error {
	st := status.New(codes.ResourceExhausted, fmt.Sprintf("api: over the connection's rate limit; retry in %s", delay))
	if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason(protos.ErrorCode_ERROR_CODE_QUEUE_FULL), Domain: ErrorDomain},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(delay)}); err == nil {
		st = d
	}
	return st.Err()
}

// retryAfterHeader is a Retry-After value in whole seconds, at least 1.
func retryAfterHeader(d time.Duration) string {
	secs := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(secs, 1), 10)
}
