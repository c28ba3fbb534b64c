// Package jwkfetch stands in for github.com/jwx-go/jwkfetch/v4 v4.0.4, which
// the Go module proxy does not serve here. It has the API ToolHive v0.63.0's
// token validator calls; the transparent proxy the bench runs has no
// authentication, so no JWKS is ever fetched and every call fails.
package jwkfetch

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/jwx/v4/jwk"
)

var errSubstitute = errors.New("jwkfetch: substitute module, JWKS fetching is not available in this build")

// Option configures a Cache or a registration.
type Option func()

// WithHTTPClient sets the HTTP client (ignored).
func WithHTTPClient(*http.Client) Option { return func() {} }

// WithMaxBodySize caps a JWKS body (ignored).
func WithMaxBodySize(int64) Option { return func() {} }

// WithConstantInterval sets a refresh interval (ignored).
func WithConstantInterval(time.Duration) Option { return func() {} }

// WithWorkers sets the refresh workers (ignored).
func WithWorkers(int) Option { return func() {} }

// Cache is a JWKS cache that never holds anything.
type Cache struct{}

// NewCache returns an empty cache.
func NewCache(context.Context, *httprc.Client, ...Option) (*Cache, error) { return &Cache{}, nil }

// Register fails: see the package doc.
func (*Cache) Register(context.Context, string, ...Option) error { return errSubstitute }

// Lookup fails: see the package doc.
func (*Cache) Lookup(context.Context, string) (jwk.Set, error) { return nil, errSubstitute }
