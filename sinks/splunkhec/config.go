package splunkhec

import (
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/config/tlsconfig"
	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/httpbatch"
)

// Config configures the Splunk HEC sink: batches of events posted to
// Splunk's HTTP Event Collector, optionally waiting for indexer
// acknowledgement.
//
// Each event is sent as the original JSON under "event", with its time,
// host, source, sourcetype, index and indexed fields, authorized with
// `Authorization: Splunk <token>`.
type Config struct {
	// Endpoint is the HEC base URL, e.g. https://splunk.example:8088
	// (required); the sink posts to /services/collector/event under it.
	// The full URL of the event endpoint (…/services/collector or
	// …/services/collector/event) is taken too and means the same.
	Endpoint string `koanf:"endpoint"`
	// Token is the HEC token (required).
	Token pipeline.Secret `koanf:"token"`
	// Index is the target index; empty: the token's default index.
	Index string `koanf:"index"`
	// Source is the event source; empty: `auditrelay:<source name>`.
	Source string `koanf:"source"`
	// Sourcetype is the sourcetype of every event; empty (the default):
	// by the event's vendor, <vendor>:audit (openai:audit,
	// anthropic:audit, chatgpt:audit), or auditrelay:<schema> for an event
	// mapped to a schema no vendor owns (auditrelay:ocsf).
	Sourcetype string `koanf:"sourcetype"`
	// Host is the host of every event; empty: this machine's host name.
	Host string `koanf:"host"`
	// Fields are indexed fields added to every event (besides
	// auditrelay_source, the source name, and auditrelay_vendor, the
	// event's vendor: openai, chatgpt, anthropic).
	Fields map[string]string `koanf:"fields"`
	// Compression of the requests (default gzip). One of: gzip, none.
	Compression string `koanf:"compression"`
	// TLS configures the client's TLS, for an https endpoint that needs its
	// own CA (a self-signed HEC) or a client certificate.
	TLS tlsconfig.Config `koanf:"tls"`
	// Timeout bounds one HTTP request (default 30s).
	Timeout time.Duration `koanf:"timeout"`
	// MaxEvents is the most events per request (default 1000).
	MaxEvents int `koanf:"max_events"`
	// MaxBytes bounds a request body before compression, in bytes (default
	// 1 MiB, 1048576, within HEC's default max_content_length). A larger single event is
	// sent alone; if HEC refuses it (413) it goes to the dead-letter path.
	MaxBytes int `koanf:"max_bytes"`
	// Ack configures indexer acknowledgement; the token must have it
	// enabled in Splunk.
	Ack AckConfig `koanf:"ack"`
}

// AckConfig configures indexer acknowledgement. The token must have
// indexer acknowledgement enabled in Splunk.
type AckConfig struct {
	// Enabled makes a batch count as delivered only once HEC reports every
	// request of it indexed.
	Enabled bool `koanf:"enabled"`
	// PollInterval is the wait between ack polls (default 1s).
	PollInterval time.Duration `koanf:"poll_interval"`
	// Timeout is how long to wait for the acks before the batch fails
	// (default 2m); it is then retried, sent again.
	Timeout time.Duration `koanf:"timeout"`
}

var _ pipeline.Config = (*Config)(nil)

func defaultConfig() *Config {
	return &Config{
		Compression: "gzip",
		Timeout:     30 * time.Second,
		MaxEvents:   1000,
		MaxBytes:    1 << 20,
		Ack:         AckConfig{PollInterval: time.Second, Timeout: 2 * time.Minute},
	}
}

// Validate implements pipeline.Config.
func (c *Config) Validate() error {
	var errs []error
	if c.Endpoint == "" {
		errs = append(errs, pipeline.FieldError("endpoint", "must be set"))
	} else if err := httpbatch.URLError("endpoint", c.Endpoint); err != nil {
		errs = append(errs, err)
	} else if _, err := baseURL(c.Endpoint); err != nil {
		errs = append(errs, err)
	}
	if c.Token == "" {
		errs = append(errs, pipeline.FieldError("token", "must be set"))
	}
	errs = append(errs, httpbatch.ConfigErrors(c.Compression, &c.TLS, c.Timeout)...)
	if err := c.TLS.CheckURL(c.Endpoint); err != nil {
		errs = append(errs, err)
	}
	if c.MaxEvents <= 0 {
		errs = append(errs, pipeline.FieldError("max_events", "must be > 0"))
	}
	if c.MaxBytes <= 0 {
		errs = append(errs, pipeline.FieldError("max_bytes", "must be > 0"))
	}
	if c.Ack.Enabled {
		if c.Ack.PollInterval <= 0 {
			errs = append(errs, pipeline.FieldError("ack.poll_interval", "must be > 0"))
		}
		if c.Ack.Timeout < c.Ack.PollInterval {
			errs = append(errs, pipeline.FieldError("ack.timeout", "must be >= ack.poll_interval"))
		}
	}
	return errors.Join(errs...)
}

// baseURL returns the HEC base URL of endpoint, which may be the base
// (https://splunk:8088, or a path a proxy serves HEC under) or the full
// URL of the event endpoint, as other HEC clients take it
// (…/services/collector or …/services/collector/event). The raw endpoint
// takes another body format and is refused.
func baseURL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", pipeline.FieldError("endpoint", "must be an http:// or https:// URL")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", pipeline.FieldError("endpoint", "must have no query or fragment: the token goes in token")
	}
	path := strings.TrimRight(u.Path, "/")
	for _, suffix := range []string{"/services/collector/event/1.0", "/services/collector/event", "/services/collector"} {
		if strings.HasSuffix(path, suffix) {
			path = strings.TrimSuffix(path, suffix)
			break
		}
	}
	if strings.HasSuffix(path, "/services/collector/raw") || strings.HasSuffix(path, "/services/collector/raw/1.0") {
		return "", pipeline.FieldError("endpoint", "the raw endpoint is not supported: give the base URL (e.g. https://splunk.example:8088); the sink posts JSON events to /services/collector/event under it")
	}
	u.Path, u.RawPath = path, ""
	return strings.TrimRight(u.String(), "/"), nil
}

// Warnings implements pipeline.Warner: the token sent over plain http.
func (c *Config) Warnings() []error {
	if w := pipeline.InClear("endpoint", c.Endpoint, "the HEC token"); w != nil {
		return []error{w}
	}
	return nil
}
