package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4/jwt"
)

// nbfSkew is how far ahead of the token's "not before" our clock may be
// and the token still pass: clocks drift, but not by minutes.
const nbfSkew = time.Minute

// keysRetry is the Retry-After of a token whose keys could not be fetched.
const keysRetry = 5 * time.Second

// registeredClaims are the claims this package checks, in go-jose's types
// (which read "aud" as a string or a list). Other claims are not decoded
// here, so a token is not refused over, say, a numeric "jti".
type registeredClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
}

// verifyJWT checks a JWT's signature and claims.
func (a *Authenticator) verifyJWT(ctx context.Context, token string, now time.Time) (*Identity, error) {
	v, err := a.keys.get(ctx)
	if err != nil {
		return nil, err
	}
	trace := &verifyTrace{}
	if _, err := v.Verify(context.WithValue(ctx, traceKey{}, trace), token); err != nil {
		return nil, a.explainRefusal(err, trace, now)
	}
	var registered registeredClaims
	claims := map[string]any{}
	if err := json.Unmarshal(trace.payload, &registered); err != nil {
		return nil, invalid("the token's claims are not a JSON object with the registered claims' types")
	}
	if err := json.Unmarshal(trace.payload, &claims); err != nil {
		return nil, invalid("the token's claims are not a JSON object")
	}
	if problem := a.claimProblem(&registered, now, true); problem != "" {
		return nil, invalid(problem)
	}
	return a.identity(&registered, claims)
}

// explainRefusal turns go-oidc's refusal into words for the client: its
// errors are strings, but what the trace saw says which check failed.
func (a *Authenticator) explainRefusal(err error, trace *verifyTrace, now time.Time) *Failure {
	var f *Failure
	switch {
	case trace.fetchErr != nil:
		return unavailable("the issuer's keys could not be fetched", keysRetry, trace.fetchErr)
	case !trace.reached:
		f = invalid("the token is not a JWT signed with one of " + strings.Join(signingAlgs, ", "))
	case trace.payload == nil:
		f = invalid("the token's signature does not verify with any of the issuer's keys")
	default:
		var registered registeredClaims
		if json.Unmarshal(trace.payload, &registered) != nil {
			f = invalid("the token's claims are not a JSON object with the registered claims' types")
		} else if problem := a.claimProblem(&registered, now, true); problem != "" {
			f = invalid(problem)
		} else {
			f = invalid("the token was refused")
		}
	}
	f.Err = err
	return f
}

// claimProblem says what is wrong with a token's registered claims, or ""
// when nothing is. A JWT must have iss, aud and exp; an introspection
// answer is checked only on what it says (RFC 7662 makes them optional).
func (a *Authenticator) claimProblem(c *registeredClaims, now time.Time, jwtRules bool) string {
	switch {
	case (jwtRules || c.Issuer != "") && c.Issuer != a.cfg.Issuer:
		return fmt.Sprintf("the token was issued by %q, not by %q", c.Issuer, a.cfg.Issuer)
	case (jwtRules || len(c.Audience) > 0) && !c.Audience.Contains(a.cfg.Audience):
		return fmt.Sprintf("the token is not for audience %q", a.cfg.Audience)
	case jwtRules && c.Expiry == nil:
		return "the token has no expiry (exp)"
	case c.Expiry != nil && c.Expiry.Time().Before(now):
		return fmt.Sprintf("the token expired at %s", c.Expiry.Time().UTC().Format(time.RFC3339))
	case c.NotBefore != nil && c.NotBefore.Time().After(now.Add(nbfSkew)):
		return fmt.Sprintf("the token is not valid before %s", c.NotBefore.Time().UTC().Format(time.RFC3339))
	case c.Subject == "":
		return "the token has no subject (sub)"
	}
	return ""
}

// identity is the caller a checked token names, once the ServiceAccount
// rules (when they apply) admit it.
func (a *Authenticator) identity(c *registeredClaims, claims map[string]any) (*Identity, error) {
	if a.cfg.Type == serviceAccountType {
		if problem := a.serviceAccountProblem(c.Subject); problem != "" {
			return nil, invalid(problem)
		}
		addServiceAccountGroups(claims)
	}
	return &Identity{Subject: c.Subject, Claims: claims, Expiry: c.Expiry.Time()}, nil
}

// verifyTrace records what go-oidc's key set saw of one verification:
// whether the token got that far (it parsed, with an accepted algorithm),
// whether its signature verified, and whether the keys could be fetched at
// all, which makes the difference between a 401 and a 503.
type verifyTrace struct {
	reached  bool
	payload  []byte
	fetchErr error
}

type traceKey struct{}

// tracedKeys is go-oidc's remote key set, reporting into the verifyTrace
// of the context it is called with.
type tracedKeys struct{ keys *oidc.RemoteKeySet }

func (k tracedKeys) VerifySignature(ctx context.Context, token string) ([]byte, error) {
	payload, err := k.keys.VerifySignature(ctx, token)
	if t, ok := ctx.Value(traceKey{}).(*verifyTrace); ok {
		t.reached, t.payload = true, payload
		// RemoteKeySet wraps the error of a key fetch that failed and
		// returns an unwrapped one when no key verifies the signature
		// (TestKeysUnreachable holds it to that).
		if err != nil && errors.Unwrap(err) != nil {
			t.fetchErr = err
		}
	}
	return payload, err
}
