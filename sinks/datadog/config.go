package datadog

import (
	"errors"
	"net/url"
	"time"

	"github.com/auditrelay/auditrelay/config/tlsconfig"
	"github.com/auditrelay/auditrelay/pipeline"
)

// Intake limits of the logs API v2.
const (
	maxEntries = 1000
	maxPayload = 5_000_000
	maxEntry   = 1_000_000
)

// Config configures the Datadog sink.
type Config struct {
	// Site selects the intake host, https://http-intake.logs.<site>
	// (default datadoghq.com; e.g. datadoghq.eu, us3.datadoghq.com).
	Site string `koanf:"site"`
	// Endpoint overrides the intake base URL (a proxy, a test server).
	Endpoint string `koanf:"endpoint"`
	// APIKey is the Datadog API key (required).
	APIKey pipeline.Secret `koanf:"api_key"`
	// Service defaults to "openai".
	Service string `koanf:"service"`
	// Source is ddsource (default "openai").
	Source string `koanf:"ddsource"`
	// Hostname defaults to this machine's host name.
	Hostname string `koanf:"hostname"`
	// Tags are sent as ddtags ("env:prod"), besides auditrelay_source:<name>.
	Tags []string `koanf:"tags"`
	// Compression is gzip (default) or none.
	Compression string `koanf:"compression"`
	// TLS configures the client; see package tlsconfig.
	TLS tlsconfig.Config `koanf:"tls"`
	// Timeout bounds one request (default 30s).
	Timeout time.Duration `koanf:"timeout"`
	// MaxEvents per request (default and maximum 1000).
	MaxEvents int `koanf:"max_events"`
	// MaxBytes per request, uncompressed (default 4,500,000; maximum
	// 5,000,000).
	MaxBytes int `koanf:"max_bytes"`
}

var _ pipeline.Config = (*Config)(nil)

func defaultConfig() *Config {
	return &Config{Site: "datadoghq.com", Service: "openai", Source: "openai", Compression: "gzip",
		Timeout: 30 * time.Second, MaxEvents: maxEntries, MaxBytes: 4_500_000}
}

// baseURL returns the intake base URL.
func (c *Config) baseURL() string {
	if c.Endpoint != "" {
		return c.Endpoint
	}
	return "https://http-intake.logs." + c.Site
}

// Validate implements pipeline.Config.
func (c *Config) Validate() error {
	var errs []error
	if c.Endpoint == "" && c.Site == "" {
		errs = append(errs, pipeline.FieldError("site", "must be set"))
	}
	if c.Endpoint != "" {
		if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, pipeline.FieldError("endpoint", "want an http:// or https:// URL, got %q", c.Endpoint))
		}
	}
	if c.APIKey == "" {
		errs = append(errs, pipeline.FieldError("api_key", "must be set"))
	}
	if c.Service == "" {
		errs = append(errs, pipeline.FieldError("service", "must be set"))
	}
	if c.Source == "" {
		errs = append(errs, pipeline.FieldError("ddsource", "must be set"))
	}
	switch c.Compression {
	case "gzip", "none":
	default:
		errs = append(errs, pipeline.FieldError("compression", "must be gzip or none, got %q", c.Compression))
	}
	errs = append(errs, pipeline.SectionErrors("tls", c.TLS.Validate())...)
	if c.Timeout <= 0 {
		errs = append(errs, pipeline.FieldError("timeout", "must be > 0"))
	}
	if c.MaxEvents <= 0 || c.MaxEvents > maxEntries {
		errs = append(errs, pipeline.FieldError("max_events", "must be in 1..%d", maxEntries))
	}
	if c.MaxBytes < maxEntry || c.MaxBytes > maxPayload {
		errs = append(errs, pipeline.FieldError("max_bytes", "must be in %d..%d", maxEntry, maxPayload))
	}
	return errors.Join(errs...)
}
