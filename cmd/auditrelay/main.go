// Command auditrelay forwards the audit logs of AI platforms to Kafka,
// OpenTelemetry, Splunk, Datadog and files.
//
// main turns signals into context cancellation and hands off to Main, which
// the tests drive directly.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// SIGHUP reloads the config of `run` instead of ending the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	m := &Main{Stdout: os.Stdout, Stderr: os.Stderr, Environ: os.Environ(), Reload: hup}
	os.Exit(m.Run(ctx, os.Args[1:]))
}
