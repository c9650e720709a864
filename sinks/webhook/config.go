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

// Config configures the webhook sink: it posts the events that match a
// filter to an HTTP endpoint, as generic JSON or as a Slack message, signed
// with HMAC-SHA256. It is meant for alerts (a user was deleted), not for
// bulk forwarding.
//
// A generic body is {"events": [the events as received]}; a slack body is
// {"text": "..."}, a line per event, for a Slack incoming webhook. With a
// secret, each request carries the header `X-Auditrelay-Signature:
// t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. Events the
// filter drops count as delivered.
type Config struct {
	// URL is the full URL every request is posted to, http:// or https://
	// (required), such as a Slack incoming webhook's.
	URL string `koanf:"url"`
	// Format is the body: generic JSON (default) or a Slack message.
	// One of: generic, slack.
	Format string `koanf:"format"`
	// Filter selects the events to send: an event is sent when it matches
	// every list that is set; empty lists match everything.
	Filter FilterConfig `koanf:"filter"`
	// Headers are added to every request, such as an Authorization header;
	// their values are secrets.
	Headers map[string]pipeline.Secret `koanf:"headers"`
	// Secret is the HMAC-SHA256 key that signs each request
	// (X-Auditrelay-Signature); empty: unsigned.
	Secret pipeline.Secret `koanf:"secret"`
	// Timeout bounds one HTTP request (default 10s).
	Timeout time.Duration `koanf:"timeout"`
	// MaxEvents is the largest number of events in one request (default
	// 100; slack messages list at most 20 and summarise the rest).
	MaxEvents int `koanf:"max_events"`
	// TLS configures the client's TLS, for an https URL that needs its own
	// CA or a client certificate.
	TLS tlsconfig.Config `koanf:"tls"`
}

// FilterConfig is the `filter:` section.
type FilterConfig struct {
	// EventTypes are event type patterns such as `user.deleted` or
	// `organization.user.*` (`*` is any run of characters, dots included).
	EventTypes []string `koanf:"event_types"`
	// Actors are actor ids or e-mail addresses, matched exactly.
	Actors []string `koanf:"actors"`
	// ProjectIDs are project ids, matched exactly.
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
