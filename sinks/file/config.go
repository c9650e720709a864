package file

import (
	"errors"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Config configures the file sink: events as JSON lines appended to a
// file or written to standard output.
//
// No byte of an existing file is ever removed: a last line without a
// newline (cut short by a crash, or written by something else) is ended
// with one and reported. It is not a log rotator: rotate with logrotate's
// copytruncate or point the sink at a new path.
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
	return errors.Join(errs...)
}
