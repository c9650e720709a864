package webhook

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/config/tlsconfig"
	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/httpbatch"
)

// Config configures the webhook sink.
type Config struct {
	// URL is the endpoint (http or https).
	URL string `koanf:"url"`
	// Format is generic (default) or slack.
	Format string `koanf:"format"`
	// Filter selects the events to send; empty lists match everything.
	Filter FilterConfig `koanf:"filter"`
	// Headers are added to every request (e.g. an Authorization header).
	Headers map[string]pipeline.Secret `koanf:"headers"`
	// Secret signs each body (X-Auditrelay-Signature); empty: unsigned.
	Secret pipeline.Secret `koanf:"secret"`
	// Timeout bounds one request (default 10s).
	Timeout time.Duration `koanf:"timeout"`
	// MaxEvents is the largest number of events in one request (default
	// 100; slack messages list at most 20 and summarise the rest).
	MaxEvents int `koanf:"max_events"`
	// TLS configures the client side of https.
	TLS tlsconfig.Config `koanf:"tls"`
}

// FilterConfig is the `filter:` section.
type FilterConfig struct {
	// EventTypes are patterns such as user.deleted or organization.user.*.
	EventTypes []string `koanf:"event_types"`
	// Actors are actor ids or e-mail addresses.
	Actors []string `koanf:"actors"`
	// ProjectIDs are project ids.
	ProjectIDs []string `koanf:"project_ids"`
}

var _ pipeline.Config = (*Config)(nil)

func defaultConfig() *Config {
	return &Config{Format: "generic", Timeout: 10 * time.Second, MaxEvents: 100}
}

// Validate implements pipeline.Config.
func (c *Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) { errs = append(errs, pipeline.FieldError(key, format, args...)) }
	errs = append(errs, httpbatch.URLError("url", c.URL))
	if c.Format != "generic" && c.Format != "slack" {
		add("format", "must be generic or slack, got %q", c.Format)
	}
	for i, p := range c.Filter.EventTypes {
		if pipeline.ValidPattern(p) != nil || strings.TrimSpace(p) == "" {
			add("filter.event_types["+strconv.Itoa(i)+"]", "is not a valid pattern: %q", p)
		}
	}
	for k := range c.Headers {
		if strings.TrimSpace(k) == "" || strings.ContainsAny(k, " :\r\n") {
			add("headers", "invalid header name %q", k)
		}
	}
	if c.Timeout <= 0 {
		add("timeout", "must be > 0")
	}
	if c.MaxEvents < 1 {
		add("max_events", "must be >= 1")
	}
	errs = append(errs, pipeline.SectionErrors("tls", c.TLS.Validate())...)
	if err := c.TLS.CheckURL(c.URL); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Warnings implements pipeline.Warner: headers (an Authorization header)
// sent over plain http.
func (c *Config) Warnings() []error {
	if len(c.Headers) == 0 {
		return nil
	}
	if w := pipeline.InClear("url", c.URL, "its headers"); w != nil {
		return []error{w}
	}
	return nil
}
