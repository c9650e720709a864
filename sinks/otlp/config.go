package otlp

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/config/tlsconfig"
	"github.com/auditrelay/auditrelay/pipeline"
)

// Protocols of the sink.
const (
	ProtocolGRPC         = "grpc"
	ProtocolHTTPProtobuf = "http/protobuf"
	ProtocolHTTPJSON     = "http/json"
)

// Presets fill endpoint and protocol (and check headers) for common
// destinations; keys set explicitly win.
const (
	// PresetDatadogAgent is the OTLP ingest of a Datadog Agent
	// (otlp_config.receiver.protocols.grpc) on the same host.
	PresetDatadogAgent = "datadog_agent"
	// PresetDatadog is Datadog's OTLP logs intake; needs site and the
	// dd-api-key header.
	PresetDatadog = "datadog"
	// PresetSplunkOTel is the Splunk distribution of the OpenTelemetry
	// Collector running as an agent on the same host.
	PresetSplunkOTel = "splunk_otel"
)

// Config configures the OTLP sink: OpenTelemetry log records over gRPC or
// HTTP (protobuf or JSON) to a collector, an agent or a vendor's OTLP
// intake, with presets for Datadog and Splunk.
type Config struct {
	// Preset fills endpoint, protocol and compression for a known
	// destination (keys set explicitly win); empty: none. datadog_agent is
	// the OTLP ingest of a Datadog Agent on this host (grpc), datadog is
	// Datadog's OTLP logs intake of site (http/protobuf; needs the
	// dd-api-key header), splunk_otel is the Splunk distribution of the
	// OpenTelemetry Collector on this host (grpc). One of: datadog_agent,
	// datadog, splunk_otel.
	Preset string `koanf:"preset"`
	// Site is the Datadog site of preset datadog, such as datadoghq.eu;
	// empty means datadoghq.com.
	Site string `koanf:"site"`
	// Endpoint is host:port for grpc (an http:// or https:// prefix is
	// accepted; https turns TLS on). For http/protobuf and http/json it is
	// a URL: a base URL such as http://collector:4318 gets /v1/logs
	// appended, a URL with a path is posted to as it is. Empty means
	// localhost:4317 for grpc, http://localhost:4318 for http, or the
	// preset's.
	Endpoint string `koanf:"endpoint"`
	// Protocol is the OTLP transport; empty means grpc, or the preset's.
	// One of: grpc, http/protobuf, http/json.
	Protocol string `koanf:"protocol"`
	// Headers are sent with every request (gRPC metadata or HTTP headers),
	// typically a vendor's API key. Values are secrets.
	Headers map[string]pipeline.Secret `koanf:"headers"`
	// Compression of the requests; empty means gzip, except none for the
	// presets that send to an agent on the same host (datadog_agent,
	// splunk_otel), where compressing only costs CPU on both sides.
	// One of: gzip, none.
	Compression string `koanf:"compression"`
	// TLS configures the client's TLS; off unless a key of it is set or
	// the endpoint is https://.
	TLS tlsconfig.Config `koanf:"tls"`
	// Timeout bounds one export request (default 10s).
	Timeout time.Duration `koanf:"timeout"`
	// MaxRecords is the most log records per request (default 250).
	MaxRecords int `koanf:"max_records"`
	// MaxConcurrentRequests is how many requests of one batch may be in
	// flight at once (default 4); 1 sends them one after the other.
	MaxConcurrentRequests int `koanf:"max_concurrent_requests"`
	// MaxBytes bounds the events' JSON size per request (default 3 MiB,
	// under the 4 MiB a collector's gRPC receiver accepts by default). An
	// event larger than this is sent alone.
	MaxBytes int `koanf:"max_bytes"`
	// ServiceName is the resource's service.name (default auditrelay).
	ServiceName string `koanf:"service_name"`
	// ResourceAttributes are added to every resource (e.g.
	// deployment.environment.name, openai.organization.id).
	ResourceAttributes map[string]string `koanf:"resource_attributes"`
	// Body is the log record's body: structured (default: the event object
	// as an OTLP map) or string (the event's JSON text, byte for byte).
	// One of: structured, string.
	Body string `koanf:"body"`
	// Severity is no longer a key of this sink, and is refused with a
	// hint: an event type's severity comes from the one severity table,
	// overridden in the enrich transform's severity list.
	Severity any `koanf:"severity"`
	// DefaultSeverity is no longer a key of this sink, and is refused
	// like severity.
	DefaultSeverity any `koanf:"default_severity"`
}

var _ pipeline.Config = (*Config)(nil)

func defaultConfig() *Config {
	return &Config{
		Timeout:               10 * time.Second,
		MaxRecords:            250,
		MaxConcurrentRequests: 4,
		MaxBytes:              3 << 20,
		ServiceName:           "auditrelay",
		Body:                  "structured",
		// Endpoint, Protocol and Site stay empty so that a preset can
		// fill them; resolved() applies the final defaults.
	}
}

// resolved returns a copy with the preset and the protocol defaults applied.
func (c *Config) resolved() Config {
	r := *c
	switch c.Preset {
	case PresetDatadogAgent, PresetSplunkOTel:
		if r.Protocol == "" {
			r.Protocol = ProtocolGRPC
		}
		if r.Compression == "" {
			r.Compression = "none"
		}
	case PresetDatadog:
		if r.Protocol == "" {
			r.Protocol = ProtocolHTTPProtobuf
		}
		if r.Site == "" {
			r.Site = "datadoghq.com"
		}
		if r.Endpoint == "" {
			r.Endpoint = "https://otlp." + r.Site + "/v1/logs"
		}
		if _, ok := r.Headers["dd-protocol"]; !ok {
			h := make(map[string]pipeline.Secret, len(r.Headers)+1)
			for k, v := range r.Headers {
				h[k] = v
			}
			h["dd-protocol"] = "otlp"
			r.Headers = h
		}
	}
	if r.Protocol == "" {
		r.Protocol = ProtocolGRPC
	}
	if r.Compression == "" {
		r.Compression = "gzip"
	}
	if r.Endpoint == "" {
		if r.Protocol == ProtocolGRPC {
			r.Endpoint = "localhost:4317"
		} else {
			r.Endpoint = "http://localhost:4318"
		}
	}
	return r
}

// Validate implements pipeline.Config.
func (c *Config) Validate() error {
	r := c.resolved()
	var errs []error
	switch c.Preset {
	case "", PresetDatadogAgent, PresetSplunkOTel:
	case PresetDatadog:
		if r.Protocol == ProtocolGRPC {
			errs = append(errs, pipeline.FieldError("protocol", "preset datadog needs http/protobuf or http/json"))
		}
		if !hasHeader(r.Headers, "dd-api-key") {
			errs = append(errs, pipeline.FieldError("headers", "preset datadog needs the dd-api-key header"))
		}
	default:
		errs = append(errs, pipeline.FieldError("preset", "must be one of datadog_agent, datadog, splunk_otel, got %q", c.Preset))
	}
	switch r.Protocol {
	case ProtocolGRPC:
		if _, _, err := grpcTarget(r.Endpoint); err != nil {
			errs = append(errs, pipeline.FieldError("endpoint", "%v", err))
		}
	case ProtocolHTTPProtobuf, ProtocolHTTPJSON:
		if _, err := httpURL(r.Endpoint); err != nil {
			errs = append(errs, pipeline.FieldError("endpoint", "%v", err))
		}
		if err := c.TLS.CheckURL(r.Endpoint); err != nil {
			errs = append(errs, err)
		}
	default:
		errs = append(errs, pipeline.FieldError("protocol", "must be grpc, http/protobuf or http/json, got %q", c.Protocol))
	}
	for k := range c.Headers {
		if k == "" || strings.ContainsAny(k, " :\r\n") {
			errs = append(errs, pipeline.FieldError("headers", "invalid header name %q", k))
		}
	}
	switch c.Compression {
	case "", "gzip", "none":
	default:
		errs = append(errs, pipeline.FieldError("compression", "must be gzip or none, got %q", c.Compression))
	}
	errs = append(errs, pipeline.SectionErrors("tls", c.TLS.Validate())...)
	if c.Timeout <= 0 {
		errs = append(errs, pipeline.FieldError("timeout", "must be > 0"))
	}
	if c.MaxRecords <= 0 {
		errs = append(errs, pipeline.FieldError("max_records", "must be > 0"))
	}
	if c.MaxConcurrentRequests <= 0 {
		errs = append(errs, pipeline.FieldError("max_concurrent_requests", "must be > 0"))
	}
	if c.MaxBytes <= 0 {
		errs = append(errs, pipeline.FieldError("max_bytes", "must be > 0"))
	}
	if c.ServiceName == "" {
		errs = append(errs, pipeline.FieldError("service_name", "must be set"))
	}
	switch c.Body {
	case "structured", "string":
	default:
		errs = append(errs, pipeline.FieldError("body", "must be structured or string, got %q", c.Body))
	}
	for _, f := range []struct {
		key string
		v   any
	}{{"severity", c.Severity}, {"default_severity", c.DefaultSeverity}} {
		if f.v != nil {
			errs = append(errs, pipeline.FieldError(f.key, "moved: an event type's severity comes from the one severity table (transform/README.md); override it in the enrich transform's severity list (levels info, low, medium, high, critical), which this sink then follows"))
		}
	}
	return errors.Join(errs...)
}

func hasHeader(h map[string]pipeline.Secret, name string) bool {
	for k, v := range h {
		if strings.EqualFold(k, name) && v != "" {
			return true
		}
	}
	return false
}

// grpcTarget returns the dial target of a grpc endpoint and whether its
// scheme asked for TLS.
func grpcTarget(endpoint string) (target string, https bool, err error) {
	switch {
	case strings.HasPrefix(endpoint, "https://"):
		endpoint, https = strings.TrimPrefix(endpoint, "https://"), true
	case strings.HasPrefix(endpoint, "http://"):
		endpoint = strings.TrimPrefix(endpoint, "http://")
	}
	endpoint = strings.TrimSuffix(endpoint, "/")
	if endpoint == "" || strings.Contains(endpoint, "/") || !strings.Contains(endpoint, ":") {
		return "", false, fmt.Errorf("want host:port for grpc, got %q", endpoint)
	}
	return endpoint, https, nil
}

// httpURL returns the URL requests are posted to.
func httpURL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("not a URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("want an http:// or https:// URL, got %q", endpoint)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/logs"
	}
	return u.String(), nil
}

// Warnings implements pipeline.Warner: headers (an API key) sent without
// TLS, over http:// or plaintext gRPC, to anything but a loopback address.
func (c *Config) Warnings() []error {
	r := c.resolved()
	if len(r.Headers) == 0 {
		return nil
	}
	if r.Protocol != ProtocolGRPC {
		if w := pipeline.InClear("endpoint", r.Endpoint, "its headers"); w != nil {
			return []error{w}
		}
		return nil
	}
	target, https, err := grpcTarget(r.Endpoint)
	if err != nil || https || r.TLS.Active() {
		return nil
	}
	if host, _, err := net.SplitHostPort(target); err == nil && pipeline.IsLoopback(host) {
		return nil
	}
	return []error{pipeline.FieldError("endpoint", "gRPC to %s without tls sends its headers in clear: set tls or an https:// endpoint", target)}
}
