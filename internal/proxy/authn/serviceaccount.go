package authn

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

const serviceAccountType = proxyconfig.OIDCKubernetesServiceAccount

// serviceAccountPrefix starts the subject of every ServiceAccount token:
// system:serviceaccount:<namespace>:<name>.
const serviceAccountPrefix = "system:serviceaccount:"

// serviceAccountProblem says why sub is not a ServiceAccount the config
// admits, or "" when it is (or when the config does not restrict).
func (a *Authenticator) serviceAccountProblem(sub string) string {
	wantNS, wantName := a.cfg.Namespace, a.cfg.ServiceAccount
	if wantNS == "" && wantName == "" {
		return ""
	}
	allowed := "ServiceAccount " + orAny(wantNS) + "/" + orAny(wantName)
	rest, ok := strings.CutPrefix(sub, serviceAccountPrefix)
	ns, name, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 {
		return fmt.Sprintf("the token's subject is not a ServiceAccount; this server admits only %s", allowed)
	}
	if (wantNS != "" && ns != wantNS) || (wantName != "" && name != wantName) {
		return fmt.Sprintf("ServiceAccount %s/%s is not allowed; this server admits only %s", ns, name, allowed)
	}
	return ""
}

func orAny(s string) string {
	if s == "" {
		return "*"
	}
	return s
}

// addServiceAccountGroups gives a ServiceAccount token the groups the API
// server gives ServiceAccounts, which the token itself does not carry, so
// that policies can name "system:serviceaccounts:<namespace>" as they
// would in RBAC. A token that has groups keeps its own.
func addServiceAccountGroups(claims map[string]any) {
	if _, has := claims["groups"]; has {
		return
	}
	k8s, _ := claims["kubernetes.io"].(map[string]any)
	ns, _ := k8s["namespace"].(string)
	if ns == "" {
		return
	}
	claims["groups"] = []any{"system:serviceaccounts", "system:serviceaccounts:" + ns}
}

// onAPIServer is the URL of raw's path (and query) on the API server at
// base. The API server's documents name the issuer's host, which a pod may
// not resolve, and the pod's token must go to the API server and nowhere
// else.
func onAPIServer(base, raw string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("API server address %q: %w", base, err)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Path == "" {
		return "", fmt.Errorf("the API server's jwks_uri %q has no path", raw)
	}
	b.Path = strings.TrimSuffix(b.Path, "/") + u.Path
	b.RawPath = ""
	b.RawQuery = u.RawQuery
	return b.String(), nil
}

// apiServerURL is the API server's base URL from a rest.Config host, which
// may leave out the scheme.
func apiServerURL(host string) string {
	if !strings.Contains(host, "://") {
		return "https://" + host
	}
	return host
}
