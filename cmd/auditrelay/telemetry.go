package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/auditrelay/auditrelay/config"
	"github.com/auditrelay/auditrelay/telemetry"
)

// finalPushTimeout bounds the last OTLP push at exit: an unreachable
// receiver must not hold the process up.
const finalPushTimeout = 5 * time.Second

// openTelemetry returns the process's Telemetry, pushing over OTLP when
// telemetry.otlp.endpoint is set and tracing windows when
// telemetry.traces.enabled, and the function that flushes and stops it. The telemetry section is read at start only: a reload keeps the
// Telemetry, so that counters keep counting.
func openTelemetry(cfg *config.Config, log *slog.Logger) (*telemetry.Telemetry, func(), error) {
	opts := telemetry.Options{Version: version, StuckAfter: cfg.Server.StuckAfter, SinkFailingAfter: cfg.Server.SinkFailingAfter}
	if o := cfg.Telemetry.OTLP; o.Endpoint != "" {
		opts.OTLP = &telemetry.OTLP{Endpoint: o.Endpoint, Protocol: o.Protocol, Headers: o.Headers, Interval: o.Interval, Log: log}
	}
	if tr := cfg.Telemetry.Traces; tr.Enabled {
		opts.Traces = &telemetry.Traces{SamplingRatio: tr.SamplingRatio, MaxQueueSize: tr.MaxQueueSize}
	}
	tel, err := telemetry.Open(opts)
	if err != nil {
		return nil, nil, err
	}
	return tel, func() {
		ctx, cancel := context.WithTimeout(context.Background(), finalPushTimeout)
		defer cancel()
		if err := tel.Shutdown(ctx); err != nil {
			log.Warn("the last push of metrics or spans over OTLP failed", "err", err)
		}
	}, nil
}
