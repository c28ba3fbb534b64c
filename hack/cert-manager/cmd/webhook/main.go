// Command webhook is cert-manager's admission webhook (validation, defaulting
// and approval checks for cert-manager resources) with cert-manager's flags.
package main

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/cert-manager/cert-manager/cmd/offline/internal/cli"
	"github.com/cert-manager/cert-manager/internal/apis/config/webhook/validation"
	cmwebhook "github.com/cert-manager/cert-manager/internal/webhook"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"github.com/cert-manager/cert-manager/pkg/webhook/options"
)

func main() {
	cfg, err := options.NewWebhookConfiguration()
	if err != nil {
		panic(err)
	}
	fs := pflag.NewFlagSet("webhook", pflag.ContinueOnError)
	// cert-manager's own flag set, klog's flags and --feature-gates included.
	options.AddConfigFlags(fs, cfg)
	cli.Main("webhook", fs, &cfg.Logging, &cfg.FeatureGates, func(ctx context.Context) error {
		if errs := validation.ValidateWebhookConfiguration(cfg, nil); len(errs) > 0 {
			return fmt.Errorf("invalid flags: %w", errs.ToAggregate())
		}
		srv, err := cmwebhook.NewCertManagerWebhookServer(logf.FromContext(ctx), *cfg)
		if err != nil {
			return err
		}
		return srv.Run(ctx)
	})
}
