// Package cli holds what the three commands share: klog and feature-gate
// flags, leader-election flags (cert-manager's names and defaults), and a Main
// that parses the command line and runs until SIGINT or SIGTERM.
package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/pflag"
	cliflag "k8s.io/component-base/cli/flag"
	logsapi "k8s.io/component-base/logs/api/v1"

	"github.com/cert-manager/cert-manager/internal/apis/config/shared"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	utilfeature "github.com/cert-manager/cert-manager/pkg/util/feature"
)

// CommonFlags adds klog's flags (--v, --logging-format, ...) and
// --feature-gates, as cert-manager's commands have them.
func CommonFlags(fs *pflag.FlagSet, logging *logsapi.LoggingConfiguration, gates *map[string]bool) {
	logsapi.SetRecommendedLoggingConfiguration(logging)
	logf.AddFlags(logging, fs)
	fs.Var(cliflag.NewMapStringBool(gates), "feature-gates", "A set of key=value pairs that describe feature gates for alpha/experimental features. Options are:\n"+
		strings.Join(utilfeature.DefaultFeatureGate.KnownFeatures(), "\n"))
}

// LeaderElectionFlags adds cert-manager's leader-election flags; the values
// already in c are the defaults.
func LeaderElectionFlags(fs *pflag.FlagSet, c *shared.LeaderElectionConfig) {
	fs.BoolVar(&c.Enabled, "leader-elect", c.Enabled, "If true, run only while holding the leader-election Lease.")
	fs.StringVar(&c.Namespace, "leader-election-namespace", c.Namespace, "Namespace of the leader-election Lease.")
	fs.DurationVar(&c.LeaseDuration, "leader-election-lease-duration", c.LeaseDuration, "How long non-leaders wait before trying to take over an unrenewed Lease.")
	fs.DurationVar(&c.RenewDeadline, "leader-election-renew-deadline", c.RenewDeadline, "How long the leader keeps trying to renew before it steps down.")
	fs.DurationVar(&c.RetryPeriod, "leader-election-retry-period", c.RetryPeriod, "How long to wait between attempts to acquire or renew the Lease.")
}

// Main parses the command line into fs, applies the feature gates and the
// logging configuration, then runs run with a context that SIGINT or SIGTERM
// cancels. It exits 2 on a flag error and 1 when run fails.
func Main(name string, fs *pflag.FlagSet, logging *logsapi.LoggingConfiguration, gates *map[string]bool, run func(context.Context) error) {
	fail := func(code int, format string, args ...any) {
		fmt.Fprintf(os.Stderr, name+": "+format+"\n", args...)
		os.Exit(code)
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		fail(2, "%v", err)
	}
	if fs.NArg() > 0 {
		fail(2, "unexpected arguments %q", fs.Args())
	}
	if err := utilfeature.DefaultMutableFeatureGate.SetFromMap(*gates); err != nil {
		fail(2, "--feature-gates: %v", err)
	}
	logf.InitLogs()
	if err := logf.ValidateAndApply(logging); err != nil {
		fail(2, "logging flags: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(logf.NewContext(ctx, logf.Log, name))
	stop()
	if err != nil {
		logf.Log.Error(err, "exiting", "component", name)
	}
	logf.FlushLogs()
	if err != nil {
		os.Exit(1)
	}
}
