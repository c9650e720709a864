package file

import (
	"errors"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/file/chain"
)

// Config configures the file sink: events as JSON lines appended to a
// file or written to standard output.
//
// No byte of an existing file is ever removed: a last line without a
// newline (cut short by a crash, or written by something else) is ended
// with one and reported. It is not a log rotator: rotate with logrotate's
// copytruncate or point the sink at a new path. With integrity, the file
// is a verifiable archive instead: the sink removes what follows its last
// signed head at start, and rotates it itself (rotate_bytes).
type Config struct {
	// Path is the file to append to, created when missing (required); "-"
	// is standard output. A relative path is relative to the config file's
	// directory.
	Path string `koanf:"path"`
	// Format is jsonl (default: each line the event object as delivered)
	// or text (one readable summary line per event, for people).
	// One of: jsonl, text.
	Format string `koanf:"format"`
	// Fsync syncs the file before acknowledging each batch (default true).
	// Without it a power loss can lose acknowledged events.
	Fsync bool `koanf:"fsync"`
	// Mode is the permission of the file: a new one is created with it, an
	// existing one given it at start (default 0600: audit logs name people).
	Mode pipeline.FileMode `koanf:"mode"`
	// Integrity makes the file an archive an auditor can verify with
	// `auditrelay verify`: sha256-chain chains a SHA-256 over every line
	// and signs a head at every committed window (default off: the file
	// is written as without it). The chain values and heads go to a
	// sidecar file, PATH.chain, so the lines stay the events exactly as
	// delivered. It needs a file path, fsync, and signing_key; at start
	// the sink removes what follows the last signed head (a window that
	// was written but never committed, which the engine writes again).
	// Do not rotate such a file with logrotate: use rotate_bytes.
	// One of: sha256-chain.
	Integrity string `koanf:"integrity"`
	// SigningKey is the Ed25519 private key that signs the heads, in PEM
	// (PKCS #8, as `openssl genpkey -algorithm ed25519` writes it); keep
	// it out of the config with ${file:...}. Required with integrity.
	// `auditrelay verify` takes the public key (`openssl pkey -pubout`).
	SigningKey pipeline.Secret `koanf:"signing_key"`
	// RotateBytes starts a new file once the file reached this size, at
	// a committed window (0, the default: never). The full file is renamed
	// with its part number before the extension (audit.000001.jsonl, its
	// sidecar beside it) and the chain goes on in the new one. Only with
	// integrity.
	RotateBytes int64 `koanf:"rotate_bytes"`
}

var _ pipeline.Config = (*Config)(nil)

func defaultConfig() *Config { return &Config{Format: "jsonl", Fsync: true, Mode: 0o600} }

// Validate implements pipeline.Config.
func (c *Config) Validate() error {
	var errs []error
	if c.Path == "" {
		errs = append(errs, pipeline.FieldError("path", `must be set (a file, or "-" for standard output)`))
	}
	if c.Format != "jsonl" && c.Format != "text" {
		errs = append(errs, pipeline.FieldError("format", "must be jsonl or text, got %q", c.Format))
	}
	if c.Mode > 0o777 || c.Mode == 0 {
		errs = append(errs, pipeline.FieldError("mode", "must be a permission between 0001 and 0777"))
	}
	errs = append(errs, c.validateIntegrity()...)
	return errors.Join(errs...)
}

// validateIntegrity checks the keys of archive integrity. The signing key
// is parsed here so that a wrong one fails validate, not the first commit;
// no message quotes it.
func (c *Config) validateIntegrity() []error {
	var errs []error
	switch c.Integrity {
	case "":
		if c.SigningKey != "" {
			errs = append(errs, pipeline.FieldError("signing_key", "is only used with integrity: %s", chain.Name))
		}
		if c.RotateBytes != 0 {
			errs = append(errs, pipeline.FieldError("rotate_bytes", "is only used with integrity: %s (rotate a plain file with logrotate's copytruncate)", chain.Name))
		}
		return errs
	case chain.Name:
	default:
		return append(errs, pipeline.FieldError("integrity", "must be %s or unset, got %q", chain.Name, c.Integrity))
	}
	if c.Path == "-" {
		errs = append(errs, pipeline.FieldError("integrity", "needs a file: standard output cannot be verified"))
	}
	if !c.Fsync {
		errs = append(errs, pipeline.FieldError("fsync", "must be true with integrity: a head must not sign lines a power loss can take back"))
	}
	if c.SigningKey == "" {
		errs = append(errs, pipeline.FieldError("signing_key", "must be set with integrity (an Ed25519 private key in PEM)"))
	} else if _, err := chain.ParsePrivateKey([]byte(c.SigningKey.Value())); err != nil {
		errs = append(errs, pipeline.FieldError("signing_key", "must be an Ed25519 private key in PEM (PKCS #8): %v", err))
	}
	if c.RotateBytes < 0 {
		errs = append(errs, pipeline.FieldError("rotate_bytes", "must be >= 0"))
	}
	return errs
}
