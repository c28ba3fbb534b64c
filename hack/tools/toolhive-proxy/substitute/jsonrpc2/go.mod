module golang.org/x/exp/jsonrpc2

go 1.26.0
