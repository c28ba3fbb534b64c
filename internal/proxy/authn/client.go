package authn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
)

// fetchTimeout bounds one request to the issuer or the API server. go-oidc
// fetches keys in the background with no deadline of its own, so the client
// must have one.
const fetchTimeout = 10 * time.Second

// issuerClient is an HTTP client for the issuer: it trusts caBundle
// besides the system roots and, unless allowPrivate, refuses to connect to
// private, loopback and link-local addresses, so that an OIDC config cannot turn the proxy into a way to
// reach the pod network or the cloud metadata endpoint. The check is on
// the address dialled, after DNS, so a name that resolves inward is caught
// too (behind an HTTP proxy from the environment, it is the proxy's
// address that is checked).
func issuerClient(caBundle string, allowPrivate bool) (*http.Client, error) {
	base, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return nil, errors.New("http.DefaultTransport is not an *http.Transport")
	}
	t := base.Clone()
	if caBundle != "" {
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM([]byte(caBundle)) {
			return nil, errors.New("OIDC caBundle holds no PEM certificate")
		}
		t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	if !allowPrivate {
		dialer := &net.Dialer{Timeout: fetchTimeout, KeepAlive: 30 * time.Second, Control: refusePrivate}
		t.DialContext = dialer.DialContext
	}
	return &http.Client{Transport: t, Timeout: fetchTimeout}, nil
}

// refusePrivate is a net.Dialer Control that refuses addresses inside the
// network.
func refusePrivate(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, err)
	}
	ip := ap.Addr().Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsUnspecified() || sharedAddressSpace.Contains(ip) {
		return fmt.Errorf("the issuer is at %s, a private address: set jwksAllowPrivateIP to allow an issuer inside the network", ip)
	}
	return nil
}

// sharedAddressSpace (RFC 6598) is private in practice: carrier NAT and
// some clusters' pod networks.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// apiServerClient reaches the API server as the pod: its CA and its
// ServiceAccount token, from the in-cluster configuration.
func apiServerClient(cfg *rest.Config) (*http.Client, error) {
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("transport to the API server %s: %w", cfg.Host, err)
	}
	return &http.Client{Transport: rt, Timeout: fetchTimeout}, nil
}
