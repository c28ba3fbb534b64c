package authn

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// ErrorInvalidToken is the RFC 6750 error code of a token that was given
// but is not good here (malformed, expired, for another audience, ...).
const ErrorInvalidToken = "invalid_token"

// Failure is why a request was not authenticated, in the terms Challenge
// answers with.
type Failure struct {
	// Status is 401, or 503 when the issuer could not be asked.
	Status int
	// Code is the RFC 6750 error code: ErrorInvalidToken, or empty when the
	// request carried no token at all.
	Code string
	// Description says why, in words meant for the client's developer. It
	// never holds the token.
	Description string
	// RetryAfter, with a 503, is when asking again is worth it.
	RetryAfter time.Duration
	// Err is the underlying cause, for the log only.
	Err error
}

func (f *Failure) Error() string {
	if f.Err != nil {
		return fmt.Sprintf("authentication: %s: %v", f.Description, f.Err)
	}
	return "authentication: " + f.Description
}

func (f *Failure) Unwrap() error { return f.Err }

func noToken() *Failure {
	return &Failure{Status: http.StatusUnauthorized, Description: "this server needs a bearer token"}
}

func invalid(description string) *Failure {
	return &Failure{Status: http.StatusUnauthorized, Code: ErrorInvalidToken, Description: description}
}

// unavailable is a token that could not be checked because the issuer did
// not answer: the client should come back, not get another token.
func unavailable(what string, retry time.Duration, cause error) *Failure {
	return &Failure{
		Status:      http.StatusServiceUnavailable,
		Description: "cannot check the token now: " + what,
		RetryAfter:  retry,
		Err:         cause,
	}
}

// Challenge answers a request that Authenticate refused: 401 with a
// WWW-Authenticate header pointing at the protected-resource metadata (and,
// when a token was given, why it was refused), or 503 with Retry-After when
// the issuer could not be asked. The body is a JSON-RPC error, for clients
// that read the body of a failed POST.
func (a *Authenticator) Challenge(w http.ResponseWriter, r *http.Request, err error) {
	var f *Failure
	if !errors.As(err, &f) {
		f = &Failure{Status: http.StatusUnauthorized, Code: ErrorInvalidToken, Description: "the token was refused", Err: err}
	}
	if f.Status == http.StatusServiceUnavailable {
		a.log.Warn("cannot authenticate: the issuer did not answer", "issuer", a.cfg.Issuer, "path", r.URL.Path, "reason", f.Description, "err", f.Err)
		w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(f.RetryAfter)))
		wire.WriteRPCError(w, f.Status, wire.CodeServerError, f.Description)
		return
	}
	a.log.Debug("authentication refused", "path", r.URL.Path, "reason", f.Description, "err", f.Err)
	params := fmt.Sprintf("Bearer resource_metadata=%q", a.metadataURL(r))
	if f.Code != "" {
		params += fmt.Sprintf(", error=%q, error_description=%q", f.Code, headerSafe(f.Description))
	}
	w.Header().Set("WWW-Authenticate", params)
	wire.WriteRPCError(w, f.Status, wire.CodeServerError, "unauthorized: "+f.Description)
}

func retrySeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// headerSafe keeps only the characters RFC 6750 §3 allows in
// error_description, so that no description can break the header.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '"':
			return '\''
		case r < 0x20 || r > 0x7e || r == '\\':
			return '?'
		}
		return r
	}, s)
}
