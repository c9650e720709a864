package datadog

import (
	"errors"
	"time"

	"github.com/auditrelay/auditrelay/config/tlsconfig"
	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/httpbatch"
)

// Intake limits of the logs API v2.
const (
	maxEntries = 1000
	maxPayload = 5_000_000
	maxEntry   = 1_000_000
)

// Config configures the Datadog sink: batches of events posted to
// Datadog's logs intake API v2, within the intake's limits.
type Config struct {
	// Site selects the intake host, `https://http-intake.logs.<site>`
	// (default datadoghq.com; e.g. datadoghq.eu, us3.datadoghq.com).
	Site string `koanf:"site"`
	// Endpoint replaces the intake's base URL (a proxy, a test server): a
	// base URL such as https://dd-proxy.example:8443, which the sink posts
	// to /api/v2/logs under. Empty: the intake of site.
	Endpoint string `koanf:"endpoint"`
	// APIKey is the Datadog API key (required), sent as the DD-API-KEY
	// header.
	APIKey pipeline.Secret `koanf:"api_key"`
	// Service is the service attribute of every entry; empty (the
	// default): the event's vendor (openai, chatgpt, anthropic), or
	// auditrelay for an event of no known vendor.
	Service string `koanf:"service"`
	// Source is the ddsource attribute of every entry, which selects
	// Datadog's log pipeline; empty (the default): the event's vendor, as
	// for service, so that OpenAI's pipeline does not parse another
	// vendor's events.
	Source string `koanf:"ddsource"`
	// Hostname is the hostname attribute of every entry; empty: this
	// machine's host name.
	Hostname string `koanf:"hostname"`
	// Tags are sent as ddtags, such as `env:prod`, besides
	// `auditrelay_source:<source name>`.
	Tags []string `koanf:"tags"`
	// Compression of the requests (default gzip). One of: gzip, none.
	Compression string `koanf:"compression"`
	// TLS configures the client's TLS, for an https endpoint that needs
	// its own CA or a client certificate.
	TLS tlsconfig.Config `koanf:"tls"`
	// Timeout bounds one HTTP request (default 30s).
	Timeout time.Duration `koanf:"timeout"`
	// MaxEvents is the most entries per request (default and maximum
	// 1000, the intake's limit).
	MaxEvents int `koanf:"max_events"`
	// MaxBytes bounds a request's body before compression, in bytes
	// (default 4500000; between 1000000 and the intake's limit, 5000000).
	MaxBytes int `koanf:"max_bytes"`
}

var _ pipeline.Config = (*Config)(nil)

func defaultConfig() *Config {
	return &Config{Site: "datadoghq.com", Compression: "gzip",
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
		errs = append(errs, httpbatch.URLError("endpoint", c.Endpoint))
	}
	if c.APIKey == "" {
		errs = append(errs, pipeline.FieldError("api_key", "must be set"))
	}
	errs = append(errs, httpbatch.ConfigErrors(c.Compression, &c.TLS, c.Timeout)...)
	if err := c.TLS.CheckURL(c.Endpoint); err != nil {
		errs = append(errs, err)
	}
	if c.MaxEvents <= 0 || c.MaxEvents > maxEntries {
		errs = append(errs, pipeline.FieldError("max_events", "must be in 1..%d", maxEntries))
	}
	if c.MaxBytes < maxEntry || c.MaxBytes > maxPayload {
		errs = append(errs, pipeline.FieldError("max_bytes", "must be in %d..%d", maxEntry, maxPayload))
	}
	return errors.Join(errs...)
}

// Warnings implements pipeline.Warner: the API key sent over plain http.
func (c *Config) Warnings() []error {
	if w := pipeline.InClear("endpoint", c.Endpoint, "the API key"); w != nil {
		return []error{w}
	}
	return nil
}
