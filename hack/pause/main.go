// Command pause is the sandbox ("pause") container of the local cluster:
// it holds a pod's namespaces and exits on SIGTERM or SIGINT. The upstream
// pause image cannot be pulled here, and its source is C.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}
