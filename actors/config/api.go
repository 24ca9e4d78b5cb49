package config

import (
	"fmt"
	"os"
	"strings"

	"github.com/drover-go/drover/actors/api"
	"github.com/drover-go/drover/actors/cluster"
)

// DefaultAPIAddress is the task API's address when the api block names
// none: loopback only.
const DefaultAPIAddress = "127.0.0.1:7070"

// API configures the node's task API (package actors/api), which other
// processes use to submit tasks. Zero fields mean the defaults listed on
// each. It is a plain value like Config.
type API struct {
	// Address is the host:port the API listens on; zero means
	// DefaultAPIAddress. An address other machines can reach needs a
	// token, TLS or Insecure.
	Address string
	// TokenFile names a file whose content (trimmed of surrounding white
	// space) is the bearer token every request must carry.
	TokenFile string
	// TokenEnv names an environment variable holding the token, read when
	// the node starts. At most one of TokenFile and TokenEnv is set.
	TokenEnv string
	// Insecure lets the API listen on an address other machines can reach
	// with neither a token nor TLS; the node logs a warning.
	Insecure bool
	// TLS, when not nil, serves the API over mutual TLS: clients need a
	// certificate signed by the CA (cluster.LoadTLS reads the files).
	TLS *TLSFiles
	// MaxRequest bounds a request, in bytes; zero means api.DefaultMaxRequest.
	MaxRequest uint64
	// RateLimit bounds the tasks per second of one connection, with bursts
	// of RateBurst (zero: RateLimit, at least 1); zero means no limit.
	RateLimit float64
	RateBurst int
	// Window bounds a stream's unfinished tasks; zero means api.DefaultWindow.
	Window int
}

// Fields of the api block and their ranges.
var (
	apiFields    = []string{"address", "token_file", "token_env", "insecure", "max_request", "rate_limit", "rate_burst", "window"}
	apiBlocks    = []string{"tls"}
	requestSize  = sizeRange{1024, 1 << 30, `a size from 1KiB to 1GiB, such as "8MiB"`}
	rateLimit    = floatRange{0.001, 1e9, "a number of tasks per second above 0, such as 1000"}
	rateBurst    = intRange{1, 1 << 30}
	streamWindow = intRange{1, 1 << 20}
)

const allowedTokenEnv = "the name of an environment variable, such as \"DROVER_TOKEN\""

func (d *decoder) api(b *body) *API {
	a := &API{}
	b.only(apiFields, apiBlocks)
	if s, at := b.str("address", allowedAddress, validAddress); at != nil {
		a.Address = s
	}
	if s, at := b.str("token_file", "the path of a file", func(s string) bool { return s != "" }); at != nil {
		a.TokenFile = s
	}
	if s, at := b.str("token_env", allowedTokenEnv, func(s string) bool { return s != "" && !strings.ContainsAny(s, "= ") }); at != nil {
		if a.TokenFile != "" {
			b.bad(at, "one of token_file and token_env, not both")
		} else {
			a.TokenEnv = s
		}
	}
	if v, at := b.bool("insecure"); at != nil {
		a.Insecure = v
	}
	if v, at := b.size("max_request", requestSize); at != nil {
		a.MaxRequest = v
	}
	if v, at := b.float("rate_limit", rateLimit); at != nil {
		a.RateLimit = v
	}
	if v, at := b.int("rate_burst", rateBurst); at != nil {
		a.RateBurst = v
	}
	if v, at := b.int("window", streamWindow); at != nil {
		a.Window = v
	}
	if tb := b.single("tls"); tb != nil {
		a.TLS = d.tls(b.child(tb, ""), tb)
	}
	return a
}

// APIOptions returns the address and the options that make api.Listen
// serve the task API this configuration describes: it reads the token
// (from its file or its environment variable) and the TLS files. It
// returns no options and "" when the file has no api block.
func (c *Config) APIOptions() (string, []api.Option, error) {
	a := c.API
	if a == nil {
		return "", nil, nil
	}
	where := "api"
	if c.File != "" {
		where = c.File + ": api"
	}
	addr := a.Address
	if addr == "" {
		addr = DefaultAPIAddress
	}
	var opts []api.Option
	token := ""
	switch {
	case a.TokenFile != "":
		b, err := os.ReadFile(a.TokenFile)
		if err != nil {
			return "", nil, fmt.Errorf("%w: %s.token_file: %w", ErrInvalid, where, err)
		}
		if token = strings.TrimSpace(string(b)); token == "" {
			return "", nil, fmt.Errorf("%w: %s.token_file: %s is empty", ErrInvalid, where, a.TokenFile)
		}
	case a.TokenEnv != "":
		if token = os.Getenv(a.TokenEnv); token == "" {
			return "", nil, fmt.Errorf("%w: %s.token_env: $%s is empty or not set", ErrInvalid, where, a.TokenEnv)
		}
	}
	if token != "" {
		opts = append(opts, api.WithToken(token))
	}
	if t := a.TLS; t != nil {
		tc, err := cluster.LoadTLS(t.CAFile, t.CertFile, t.KeyFile)
		if err != nil {
			return "", nil, fmt.Errorf("%w: %s.tls: %w", ErrInvalid, where, err)
		}
		opts = append(opts, api.WithTLS(tc))
	}
	if a.Insecure {
		opts = append(opts, api.WithInsecure())
	}
	if a.MaxRequest != 0 {
		opts = append(opts, api.WithMaxRequest(int(a.MaxRequest)))
	}
	if a.RateLimit != 0 {
		burst := a.RateBurst
		if burst == 0 {
			burst = max(int(a.RateLimit), 1)
		}
		opts = append(opts, api.WithRateLimit(a.RateLimit, burst))
	}
	if a.Window != 0 {
		opts = append(opts, api.WithWindow(a.Window))
	}
	return addr, opts, nil
}

// validate checks the fields that code may change (a flag replacing the
// address); nil is valid.
func (a *API) validate() []error {
	if a == nil || a.Address == "" || validAddress(a.Address) {
		return nil
	}
	return []error{&Error{Field: "api.address", Value: fmt.Sprintf("%q", a.Address), Allowed: allowedAddress}}
}
