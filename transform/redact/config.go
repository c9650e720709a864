package redact

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/auditrelay/auditrelay/pipeline"
)

// The modes.
const (
	ModeMask   = "mask"
	ModeHash   = "hash"
	ModeRemove = "remove"
)

// The content settings.
const (
	ContentTruncated = "truncated"
	ContentAll       = "all"
	ContentNone      = "none"
)

// CustomPattern is a user-defined pattern.
type CustomPattern struct {
	// Name appears in the marker ([REDACTED:name ...]); lowercase letters,
	// digits and '_'.
	Name string `koanf:"name"`
	// Regex is an RE2 regular expression (linear time, no backtracking).
	Regex string `koanf:"regex"`
}

// Config configures the redact transform.
type Config struct {
	// Mode is mask (default), hash or remove.
	Mode string `koanf:"mode"`
	// HashKey is the HMAC key of hash mode; required by it.
	HashKey pipeline.Secret `koanf:"hash_key"`
	// Content selects which request-log content is redacted: truncated
	// (default), all or none.
	Content string `koanf:"content"`
	// Fields are JSON pointers of values redacted whole, in every event.
	// Default: ["/certificate.deleted/certificate"].
	Fields []string `koanf:"fields"`
	// Patterns are the built-in patterns scanned for, by name. Default: all
	// of email, ipv4, ipv6, openai_key, api_key, bearer, card, pem. An
	// empty list disables scanning.
	Patterns []string `koanf:"patterns"`
	// CustomPatterns are scanned for in addition.
	CustomPatterns []CustomPattern `koanf:"custom_patterns"`
	// SecretKeys name the members whose string or number value is
	// redacted whole, whatever it holds: a name ("password"), or a suffix
	// after '*' ("*_token"). Matched without regard to case, '-' as '_'.
	// Default: DefaultSecretKeys. An empty list turns it off.
	SecretKeys []string `koanf:"secret_keys"`
}

// DefaultSecretKeys are the key names whose values are credentials in the
// payloads and headers that reach audit logs. Objects under them (an
// audit log's actor.api_key) keep their shape: only scalar values go.
var DefaultSecretKeys = []string{
	"password", "passwd", "passphrase", "secret", "client_secret", "token", "authorization",
	"proxy_authorization", "api_key", "apikey", "x_api_key", "private_key", "secret_key",
	"access_key", "cookie", "set_cookie", "credentials", "*_password", "*_secret", "*_token",
}

var _ pipeline.Config = (*Config)(nil)

var nameRE = regexp.MustCompile(`^[a-z0-9_]+$`)

// Validate implements pipeline.Config.
func (c *Config) Validate() error {
	var errs []error
	switch c.Mode {
	case ModeMask, ModeRemove:
	case ModeHash:
		if c.HashKey == "" {
			errs = append(errs, pipeline.FieldError("hash_key", "must be set when mode is hash"))
		} else if len(c.HashKey.Value()) < 16 {
			errs = append(errs, pipeline.FieldError("hash_key", "must be at least 16 bytes long"))
		}
	default:
		errs = append(errs, pipeline.FieldError("mode", "must be mask, hash or remove, got %q", c.Mode))
	}
	switch c.Content {
	case ContentTruncated, ContentAll, ContentNone:
	default:
		errs = append(errs, pipeline.FieldError("content", "must be truncated, all or none, got %q", c.Content))
	}
	for i, f := range c.Fields {
		if _, err := parsePointer(f); err != nil {
			errs = append(errs, pipeline.FieldError(fmt.Sprintf("fields[%d]", i), "%v", err))
		}
	}
	for i, p := range c.Patterns {
		if _, ok := builtins[p]; !ok {
			errs = append(errs, pipeline.FieldError(fmt.Sprintf("patterns[%d]", i), "unknown pattern %q (want one of %s)", p, strings.Join(BuiltinPatterns(), ", ")))
		}
	}
	for i, p := range c.CustomPatterns {
		if !nameRE.MatchString(p.Name) {
			errs = append(errs, pipeline.FieldError(fmt.Sprintf("custom_patterns[%d].name", i), "must be lowercase letters, digits and _, got %q", p.Name))
		}
		re, err := regexp.Compile(p.Regex)
		switch {
		case err != nil:
			errs = append(errs, pipeline.FieldError(fmt.Sprintf("custom_patterns[%d].regex", i), "%v", err))
		case p.Regex == "" || re.MatchString(""):
			errs = append(errs, pipeline.FieldError(fmt.Sprintf("custom_patterns[%d].regex", i), "must not match the empty string"))
		}
	}
	for i, k := range c.SecretKeys {
		if name := strings.TrimPrefix(k, "*"); name == "" || !secretKeyRE.MatchString(name) {
			errs = append(errs, pipeline.FieldError(fmt.Sprintf("secret_keys[%d]", i), "must be a key name or *suffix of letters, digits, _ and -, got %q", k))
		}
	}
	return errors.Join(errs...)
}

var secretKeyRE = regexp.MustCompile(`^[A-Za-z0-9_\-]+$`)

// parsePointer splits a JSON pointer (RFC 6901) into unescaped segments.
func parsePointer(p string) ([]string, error) {
	if p == "" || p[0] != '/' {
		return nil, fmt.Errorf("%q is not a JSON pointer (it must start with /)", p)
	}
	segs := strings.Split(p[1:], "/")
	for i, s := range segs {
		segs[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(s)
	}
	return segs, nil
}
