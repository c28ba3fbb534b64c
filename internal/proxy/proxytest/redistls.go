package proxytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// StartRedisTLS runs redis-server speaking TLS only (no plain-text port)
// on a free loopback port, with a certificate for 127.0.0.1 signed by a
// throwaway CA, until Stop or the end of the test. It returns the server
// and the CA's PEM file.
func StartRedisTLS(t testing.TB) (r *Redis, caFile string) {
	t.Helper()
	return StartRedisTLSAt(t, FreeAddr(t))
}

// StartRedisTLSAt is StartRedisTLS on addr (an IP and port), with a
// certificate for that IP.
func StartRedisTLSAt(t testing.TB, addr string) (r *Redis, caFile string) {
	t.Helper()
	dir := t.TempDir()
	ca, caKey := NewCA(t, "redis test CA")
	caFile = WriteCA(t, ca)
	host, port, _ := net.SplitHostPort(addr)
	cert, key := issue(t, ca, caKey, net.ParseIP(host))
	certFile, keyFile := filepath.Join(dir, "redis.crt"), filepath.Join(dir, "redis.key")
	writePEM(t, certFile, "CERTIFICATE", cert)
	writePEM(t, keyFile, "PRIVATE KEY", key)

	roots := x509.NewCertPool()
	roots.AddCert(ca)
	dial := func(addr string) (net.Conn, error) {
		d := &net.Dialer{Timeout: time.Second}
		return tls.DialWithDialer(d, "tcp", addr, &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
	}
	// --port 0 after the plain address's port: TLS only.
	r, err := startRedis(addr, 10*time.Second, dial, "--port", "0", "--tls-port", port,
		"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-ca-cert-file", caFile, "--tls-auth-clients", "no")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r, caFile
}

// NewCA is a throwaway certificate authority, valid for an hour.
func NewCA(t testing.TB, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ca, key
}

// issue is a server certificate for ip and localhost signed by ca, and its
// key, both DER.
func issue(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey, ip net.IP) (cert, key []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "redis"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{ip}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if cert, err = x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey); err != nil {
		t.Fatal(err)
	}
	if key, err = x509.MarshalPKCS8PrivateKey(k); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// WriteCA writes ca as a PEM file in a new temporary directory.
func WriteCA(t testing.TB, ca *x509.Certificate) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "ca.crt")
	writePEM(t, f, "CERTIFICATE", ca.Raw)
	return f
}

func writePEM(t testing.TB, file, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
