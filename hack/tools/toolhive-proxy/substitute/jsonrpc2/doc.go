// Package jsonrpc2 stands in for golang.org/x/exp/jsonrpc2
// v0.0.0-20261014143641-f0251eb4aa3e, which the Go module proxy does not
// serve here. Its files are golang.org/x/tools v0.52.0's
// internal/jsonrpc2_v2 unchanged (the package x/exp/jsonrpc2 was split
// from; same API, BSD licence in LICENSE).
package jsonrpc2
