// Package authn authenticates MCP clients from the bearer token on each HTTP
// request, as the MCP authorization spec asks of a protected resource: JWTs
// are verified against the issuer's published keys, opaque tokens are asked
// about at the issuer's introspection endpoint (RFC 7662), and a request
// without a valid token is answered 401 with a WWW-Authenticate header that
// points at this server's protected-resource metadata (RFC 9728), which
// names the issuer a client should get a token from.
//
// Why it is shaped this way:
//
//   - The proxy must start, and stay up, while the issuer is down: New does
//     no I/O. Discovery runs on the first token that needs it and is retried
//     (with backoff) while it fails; meanwhile requests are answered 503 with
//     Retry-After, not 401, because the token may well be good.
//   - A request must not pay for a signature check it has already passed:
//     verified tokens are cached (by their SHA-256) until they expire, so a
//     client's repeated token costs one map lookup.
//   - JOSE is easy to get subtly wrong, so none of it is written here:
//     go-oidc verifies signatures (and fetches keys again when a token names
//     a key it has not seen, which is how issuers rotate keys); this package
//     only decides which algorithms are acceptable (asymmetric ones: never
//     "none", never HMAC, whose secret would be the public key) and explains
//     refusals in words a client developer can act on.
//   - Kubernetes ServiceAccount tokens are JWTs from the API server's own
//     issuer. With UseClusterAuth the keys are fetched through the API server
//     with the pod's credentials, because many clusters neither publish the
//     issuer's documents anonymously nor resolve the host they name from
//     inside a pod.
package authn
