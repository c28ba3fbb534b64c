package authn

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxIntrospectionCache bounds how long an introspection answer is
// trusted: a revoked opaque token stops working within this time.
const maxIntrospectionCache = 5 * time.Minute

// maxIntrospectionAnswer bounds the answer read from the issuer.
const maxIntrospectionAnswer = 1 << 20

// introspector asks the issuer whether an opaque token is active (RFC
// 7662). It is written here because go-oidc only verifies JWTs, and
// zitadel/oidc's resource server, which can introspect, runs discovery
// when it is built (New must not wait on the network) and would bring a
// second OIDC stack for one POST.
type introspector struct {
	url, clientID, secret string
	client                *http.Client
}

// ask returns the issuer's answer about token; an error means there was
// no usable answer.
func (i *introspector) ask(ctx context.Context, token string) ([]byte, error) {
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, i.url, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("introspection request to %s: %w", i.url, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 §2.3.1: the id and secret are form-encoded, then Basic.
	req.SetBasicAuth(url.QueryEscape(i.clientID), url.QueryEscape(i.secret))
	resp, err := i.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("introspection at %s: %w", i.url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIntrospectionAnswer+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("introspection at %s: read the answer: %w", i.url, err)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("introspection at %s answered %s", i.url, resp.Status)
	case len(body) > maxIntrospectionAnswer:
		return nil, fmt.Errorf("introspection at %s answered more than %d bytes", i.url, maxIntrospectionAnswer)
	}
	return body, nil
}

// introspectToken checks an opaque token with the issuer.
func (a *Authenticator) introspectToken(ctx context.Context, token string, now time.Time) (*Identity, error) {
	body, err := a.introspect.ask(ctx, token)
	if err != nil {
		return nil, unavailable("the issuer's introspection endpoint did not answer", keysRetry, err)
	}
	var answer struct {
		Active bool `json:"active"`
		registeredClaims
	}
	claims := map[string]any{}
	if err := json.Unmarshal(body, &answer); err != nil {
		return nil, unavailable("the issuer's introspection answer is not what RFC 7662 says", keysRetry, err)
	}
	if err := json.Unmarshal(body, &claims); err != nil {
		return nil, unavailable("the issuer's introspection answer is not a JSON object", keysRetry, err)
	}
	if !answer.Active {
		return nil, invalid("the issuer says the token is not active")
	}
	if problem := a.claimProblem(&answer.registeredClaims, now, false); problem != "" {
		return nil, invalid(problem)
	}
	return a.identity(&answer.registeredClaims, claims)
}
