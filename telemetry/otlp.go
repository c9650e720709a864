package telemetry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/auditrelay/auditrelay/pipeline"
)

// OTLP configures the push of the metrics to an OTLP receiver (an
// OpenTelemetry Collector, a vendor's endpoint).
type OTLP struct {
	// Endpoint is the receiver's URL: http:// (plain text) or https://,
	// host and port; with Protocol "http" the path defaults to
	// /v1/metrics.
	Endpoint string
	// Protocol is "grpc" or "http" (protobuf over HTTP).
	Protocol string
	// Headers are sent with every push (an API key, say).
	Headers map[string]pipeline.Secret
	// Interval is the time between pushes; a push that has not finished
	// within it is abandoned.
	Interval time.Duration
	// Log receives the failures of pushes (never header values).
	Log *slog.Logger
}

// metricsPath is the OTLP/HTTP default path of metrics.
const metricsPath = "/v1/metrics"

// otlpReader returns the periodic reader pushing to o. Every setting of
// the exporter and reader is given explicitly: the OpenTelemetry SDK reads
// OTEL_EXPORTER_OTLP_* and OTEL_METRIC_EXPORT_* variables for what is left
// out, and auditrelay's configuration comes from its file only.
func (t *Telemetry) otlpReader(o *OTLP, version string) (sdkmetric.Reader, error) {
	if o.Interval <= 0 {
		return nil, errors.New("telemetry: otlp interval must be > 0")
	}
	u, headers, err := o.target()
	if err != nil {
		return nil, err
	}
	var exp sdkmetric.Exporter
	switch o.Protocol {
	case "grpc":
		opts := []otlpmetricgrpc.Option{
			otlpmetricgrpc.WithEndpoint(u.Host),
			otlpmetricgrpc.WithHeaders(headers),
			otlpmetricgrpc.WithTimeout(o.Interval),
			// gzip, because the option knows no "none" and leaving it
			// out lets OTEL_EXPORTER_OTLP_COMPRESSION decide.
			otlpmetricgrpc.WithCompressor("gzip"),
			otlpmetricgrpc.WithRetry(otlpmetricgrpc.RetryConfig{Enabled: false}),
			otlpmetricgrpc.WithTemporalitySelector(sdkmetric.DefaultTemporalitySelector),
			otlpmetricgrpc.WithAggregationSelector(sdkmetric.DefaultAggregationSelector),
		}
		if u.Scheme == "http" {
			// Credentials rather than WithInsecure: credentials taken from
			// OTEL_EXPORTER_OTLP_CERTIFICATE would win over WithInsecure.
			opts = append(opts, otlpmetricgrpc.WithTLSCredentials(insecure.NewCredentials()))
		} else {
			opts = append(opts, otlpmetricgrpc.WithTLSCredentials(credentials.NewTLS(tlsConfig())))
		}
		exp, err = otlpmetricgrpc.New(context.Background(), opts...)
	case "http":
		path := u.EscapedPath()
		if path == "" || path == "/" {
			path = metricsPath
		}
		opts := []otlpmetrichttp.Option{
			otlpmetrichttp.WithEndpoint(u.Host),
			otlpmetrichttp.WithURLPath(path),
			otlpmetrichttp.WithHeaders(headers),
			otlpmetrichttp.WithTimeout(o.Interval),
			otlpmetrichttp.WithCompression(otlpmetrichttp.NoCompression),
			otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig{Enabled: false}),
			otlpmetrichttp.WithTemporalitySelector(sdkmetric.DefaultTemporalitySelector),
			otlpmetrichttp.WithAggregationSelector(sdkmetric.DefaultAggregationSelector),
		}
		if u.Scheme == "http" {
			opts = append(opts, otlpmetrichttp.WithInsecure())
		}
		opts = append(opts,
			otlpmetrichttp.WithTLSClientConfig(nil),
			otlpmetrichttp.WithHTTPClient(otlpHTTPClient(u.Scheme, o.Interval)))
		exp, err = otlpmetrichttp.New(context.Background(), opts...)
	default:
		return nil, fmt.Errorf("telemetry: otlp protocol must be grpc or http, got %q", o.Protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("telemetry: otlp exporter: %w", err)
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &droppingExporter{
		Exporter: exp,
		// The SDK merges OTEL_RESOURCE_ATTRIBUTES into the provider's
		// resource; the pushed one is replaced by this fixed one.
		res:      serviceResource(version),
		failures: &t.exportFailures,
		down:     &t.receiverDown,
		log:      log,
	}
	return sdkmetric.NewPeriodicReader(e,
		sdkmetric.WithInterval(o.Interval),
		sdkmetric.WithTimeout(o.Interval),
	), nil
}

// target returns the receiver's URL and the header values to send.
func (o *OTLP) target() (*url.URL, map[string]string, error) {
	u, err := url.Parse(o.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The URL is not printed: it may carry credentials.
		return nil, nil, errors.New("telemetry: otlp endpoint must be an http:// or https:// URL with a host")
	}
	headers := make(map[string]string, len(o.Headers))
	for k, v := range o.Headers {
		headers[k] = v.Value()
	}
	return u, headers, nil
}

// tlsConfig is the TLS of an https:// receiver.
func tlsConfig() *tls.Config { return &tls.Config{MinVersion: tls.VersionTLS12} }

// droppingExporter counts and logs a failed push and drops it: the
// measurements are cumulative, so the next push carries them again, and a
// retry would only hold the reader's goroutine longer. The pipeline never
// waits on it: instruments update in-memory aggregates, and the periodic
// reader exports from its own goroutine, one push at a time, each bounded
// by the interval.
type droppingExporter struct {
	sdkmetric.Exporter
	res      *resource.Resource
	failures *atomic.Int64
	down     *atomic.Bool // the receiver failed the last export
	log      *slog.Logger
}

func (e *droppingExporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	rm.Resource = e.res
	err := e.Exporter.Export(ctx, rm)
	e.down.Store(err != nil)
	if err != nil {
		e.failures.Add(1)
		// The exporter's errors name the endpoint and status, never the
		// headers it sent.
		e.log.Warn("pushing metrics over OTLP failed; they go with the next push", "err", err)
	}
	return nil
}

// observeExportFailures registers the counter of failed pushes.
func (t *Telemetry) observeExportFailures(m metric.Meter) error {
	c, err := m.Int64ObservableCounter("auditrelay_telemetry_export_failures_total",
		metric.WithDescription("Pushes of metrics over OTLP that failed and were dropped (the next push carries the totals again)."),
		metric.WithUnit("{push}"))
	if err != nil {
		return err
	}
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(c, t.exportFailures.Load())
		return nil
	}, c)
	return err
}
