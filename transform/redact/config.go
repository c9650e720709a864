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
	// Name appears in the marker ([REDACTED:name ...]): lowercase letters,
	// digits and '_' (required).
	Name string `koanf:"name"`
	// Regex is an RE2 regular expression (linear time, no backtracking)
	// that must not match the empty string (required).
	Regex string `koanf:"regex"`
}

// Config configures the redact transform: it keeps content that must not
// leave the organization out of every sink, replacing it with a marker such
// as [REDACTED:email len=18].
//
// It redacts request-log prompts and responses, the values at configured
// JSON pointers, the values of keys that name a credential, and every match
// of the patterns in every string and key. transform/README.md has the
// details.
type Config struct {
	// Mode is how a value is redacted: mask (default) replaces it with
	// [REDACTED:name len=N]; hash adds an HMAC of the value under hash_key,
	// so that the events about one user carry the same hash without
	// revealing the user; remove deletes whole fields and marks matches
	// inside strings as [REDACTED:name]. One of: mask, hash, remove.
	Mode string `koanf:"mode"`
	// HashKey is the HMAC-SHA256 key of mode hash, at least 16 bytes
	// (required with it).
	HashKey pipeline.Secret `koanf:"hash_key"`
	// Content selects when request-log content (the prompt and the
	// response body of an api_request) is redacted: when the log marks it
	// truncated (default), always (all), or never (none). One of:
	// truncated, all, none.
	Content string `koanf:"content"`
	// Fields are JSON pointers (RFC 6901; `*` matches any key or index) of
	// values redacted whole, in every event (default: the PEM of a deleted
	// certificate).
	Fields []string `koanf:"fields"`
	// Patterns are the built-in patterns every string and key is scanned
	// for (default: all of them; an empty list disables scanning). One of:
	// api_key, bearer, card, email, ipv4, ipv6, openai_key, pem.
	Patterns []string `koanf:"patterns"`
	// CustomPatterns are scanned for in addition to patterns.
	CustomPatterns []CustomPattern `koanf:"custom_patterns"`
	// SecretKeys name the members whose string or number value is
	// redacted whole, whatever it holds: a name (`password`), or a suffix
	// after `*` (`*_token`). Matched without regard to case, '-' as '_'.
	// The default lists the usual names (`password`, `token`,
	// `authorization`, `api_key`, `*_secret`...); an empty list turns it
	// off.
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
