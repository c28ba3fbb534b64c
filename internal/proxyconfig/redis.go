package proxyconfig

import "flag"

// RedisTLS is how the proxy reaches Redis over TLS (ToolHive's
// spec.sessionStorage.tls). Enabled: TLS 1.2 or later, the server's
// certificate checked against CAFile or else the system roots, and a
// failed handshake is an error, never a retry in plain text.
type RedisTLS struct {
	// Enabled speaks TLS to Redis.
	Enabled bool
	// InsecureSkipVerify accepts any certificate the server shows: the
	// connection is encrypted but the server is not authenticated.
	InsecureSkipVerify bool
	// CAFile is PEM of the CAs that sign the server's certificate
	// (caCertSecretRef, mounted by the operator); empty: the system roots.
	CAFile string
}

const (
	flagRedisTLS         = "redis-tls"
	flagRedisTLSInsecure = "redis-tls-insecure-skip-verify"
	flagRedisTLSCAFile   = "redis-tls-ca-file"
)

// FlagRedisTLSCAFile names the flag of RedisTLS.CAFile, for the errors of
// the proxy that reads it.
const FlagRedisTLSCAFile = "--" + flagRedisTLSCAFile

// args renders t as proxy arguments; nothing when TLS is off.
func (t RedisTLS) args() []string {
	var args []string
	if t.Enabled {
		args = append(args, "--"+flagRedisTLS+"=true")
	}
	if t.InsecureSkipVerify {
		args = append(args, "--"+flagRedisTLSInsecure+"=true")
	}
	if t.CAFile != "" {
		args = append(args, "--"+flagRedisTLSCAFile+"="+t.CAFile)
	}
	return args
}

// registerFlags binds t's fields to fs.
func (t *RedisTLS) registerFlags(fs *flag.FlagSet) {
	fs.BoolVar(&t.Enabled, flagRedisTLS, false, "speak TLS to Redis (never falls back to plain text)")
	fs.BoolVar(&t.InsecureSkipVerify, flagRedisTLSInsecure, false, "with --"+flagRedisTLS+": accept any server certificate (encrypted, not authenticated)")
	fs.StringVar(&t.CAFile, flagRedisTLSCAFile, "", "with --"+flagRedisTLS+": PEM file of the CAs that sign Redis's certificate (default: the system roots)")
}
