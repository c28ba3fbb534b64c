// Command coredns is CoreDNS, as the local cluster's DNS (hack/coredns.sh),
// with only the plugins its Corefile (hack/coredns.yaml) uses: the
// kubernetes plugin for cluster.local, cache, errors, health, ready,
// loadbalance, log and reload. Upstream's main (the module root) links all
// ~60 plugins, among them the AWS, Azure, Google Cloud, Nomad and Datadog
// clients; this one builds in a fraction of the time into a smaller image.
// The plugin order is upstream's (dnsserver.Directives), so a Corefile
// means here what it means to upstream's binary.
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

func main() {
	coremain.Run()
}
