package pipeline

import "log/slog"

// Secret is a config value that must never be printed: an API key, a token,
// a password. Its String, Format-through-String and text/JSON encodings
// show a mask; Value returns the secret itself for the one place that
// sends it.
type Secret string

const secretMask = "[redacted]"

// Value returns the secret.
func (s Secret) Value() string { return string(s) }

// String returns a mask (or "" when the secret is empty).
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return secretMask
}

// GoString masks the secret in %#v too.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// MarshalText masks the secret in every text encoding (JSON, YAML).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue masks the secret in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }
