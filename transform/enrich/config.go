package enrich

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/config/tlsconfig"
	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/schema/openai"
)

// SeverityRule overrides the severity of the event types matching Match.
type SeverityRule struct {
	// Match is an event type pattern (required); `*` matches any run of
	// characters (dots included), `?` one character. A ChatGPT record
	// matches by its type or by its type and sub-type joined by a dot
	// (`AUDIT_LOG`, `AUTH_LOG.login_failed`, `AUDIT_LOG.INVITE_*`).
	Match string `koanf:"match"`
	// Level is the severity given to the matching types. One of: info,
	// low, medium, high, critical.
	Level string `koanf:"level"`
}

// Config configures the enrich transform: it adds, under a top-level
// "auditrelay" object and never over OpenAI's own fields, the names of the
// actor, project, API key and service account (from the Admin API), a
// severity by event type, labels, the host and when the source fetched the
// event.
type Config struct {
	// BaseURL is the Admin API's root (default https://api.openai.com/v1,
	// or the base_url of the sources whose key enrich takes).
	BaseURL string `koanf:"base_url"`
	// APIKey is the admin key (sk-admin-...) that reads the directory. Left
	// out, enrich uses the key of the pipeline's OpenAI sources when they
	// all use one (with several, it must be set); without any, the
	// directory is not loaded and only severity, labels, ingested_at and
	// host are added.
	APIKey pipeline.Secret `koanf:"api_key"`
	// RefreshInterval is how often the directory is reloaded (default 10m).
	RefreshInterval time.Duration `koanf:"refresh_interval"`
	// TTL is how long a loaded directory may be used (default 1h; at least
	// refresh_interval); after that, events pass without names until a
	// refresh succeeds.
	TTL time.Duration `koanf:"ttl"`
	// MaxEntries bounds the directory: users, projects, keys and service
	// accounts together (default 100000).
	MaxEntries int `koanf:"max_entries"`
	// Timeout bounds one load of the whole directory (default 30s).
	Timeout time.Duration `koanf:"timeout"`
	// Severity rules are checked in order before the default table of the
	// event's vendor (transform/README.md; Anthropic activities:
	// schema/anthropic's; ChatGPT records: schema/chatgpt's); the first
	// match wins. A list, not a map: event types contain dots.
	Severity []SeverityRule `koanf:"severity"`
	// Labels are added to every event as auditrelay.labels, such as
	// {team: secops}.
	Labels map[string]string `koanf:"labels"`
	// Host is the value of auditrelay.host; empty: this machine's host
	// name.
	Host string `koanf:"host"`
	// TLS configures the client's TLS, for a base_url that needs its own CA
	// or a client certificate.
	TLS tlsconfig.Config `koanf:"tls"`

	// keyOf names the source whose key enrich uses ("": its own or none).
	keyOf string
}

var _ pipeline.Config = (*Config)(nil)

// Validate implements pipeline.Config.
func (c *Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, pipeline.FieldError("base_url", "must be an http(s) URL, got %q", c.BaseURL))
	}
	if c.RefreshInterval <= 0 {
		errs = append(errs, pipeline.FieldError("refresh_interval", "must be > 0"))
	}
	if c.TTL < c.RefreshInterval {
		errs = append(errs, pipeline.FieldError("ttl", "must be >= refresh_interval (%s), got %s", c.RefreshInterval, c.TTL))
	}
	if c.MaxEntries <= 0 {
		errs = append(errs, pipeline.FieldError("max_entries", "must be > 0"))
	}
	if c.Timeout <= 0 {
		errs = append(errs, pipeline.FieldError("timeout", "must be > 0"))
	}
	for i, r := range c.Severity {
		if r.Match == "" {
			errs = append(errs, pipeline.FieldError(fmt.Sprintf("severity[%d].match", i), "must be set"))
		}
		if !openai.Level(r.Level).Valid() {
			errs = append(errs, pipeline.FieldError(fmt.Sprintf("severity[%d].level", i), "must be info, low, medium, high or critical, got %q", r.Level))
		}
	}
	if err := c.TLS.CheckURL(c.BaseURL); err != nil {
		errs = append(errs, err)
	}
	if err := c.TLS.Validate(); err != nil {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				errs = append(errs, fmt.Errorf("tls.%w", e))
			}
		} else {
			errs = append(errs, fmt.Errorf("tls.%w", err))
		}
	}
	return errors.Join(errs...)
}

var _ pipeline.SpecChecker = (*Config)(nil)

// CheckSpec implements pipeline.SpecChecker. Without an api_key of its own
// enrich takes the key (and base URL, when its own is the default) of the
// pipeline's OpenAI sources, which is what a user who left it out means:
// the audit log's admin key reads the directory too. Sources with
// different keys (several organizations) leave it to the user.
func (c *Config) CheckSpec(_ string, spec pipeline.Spec) error {
	if c.APIKey != "" {
		return nil
	}
	var names []string
	var key pipeline.Secret
	var base string
	for _, src := range spec.Sources {
		k, ok := src.Config.(pipeline.Keyed)
		if !ok {
			continue
		}
		vendor, b, sk := k.APIKeyOf()
		if vendor != "openai" || sk == "" {
			continue
		}
		if key != "" && (sk != key || b != base) {
			return pipeline.FieldError("api_key", "must be set: the sources %s use different keys or base URLs, and enrich reads one directory", strings.Join(append(names, src.Name), ", "))
		}
		key, base, names = sk, b, append(names, src.Name)
	}
	if key == "" {
		return nil
	}
	c.APIKey, c.keyOf = key, names[0]
	if c.BaseURL == DefaultConfig().BaseURL {
		c.BaseURL = base
	}
	return nil
}

// Warnings implements pipeline.Warner: the admin key (its own or the
// sources', see CheckSpec) sent over plain http.
func (c *Config) Warnings() []error {
	if c.APIKey == "" {
		return nil
	}
	if w := pipeline.InClear("base_url", c.BaseURL, "the admin key"); w != nil {
		return []error{w}
	}
	return nil
}
