package file

import (
	"errors"
	"path/filepath"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Policies for lines that are not events (on_invalid_line).
const (
	// InvalidFail stops the source with the file name and line number; the
	// checkpoint points at the offending line, so a fixed file resumes there.
	InvalidFail = "fail"
	// InvalidSkip logs the file name, line number and reason, counts the
	// line and goes on.
	InvalidSkip = "skip"
)

// Stdin is the path that selects standard input.
const Stdin = "-"

// Config configures the replay source: events, one JSON object per line,
// from a file, a glob of files or stdin (an export, say), through the same
// transforms and sinks as the API sources.
//
// Lines must be the objects the OpenAI APIs return, as `auditrelay export
// -o jsonl` writes them. The checkpoint holds, per file, the byte offset
// after the last line delivered, so that a stopped replay resumes there; a
// file truncated or replaced is read again from the start, with a warning.
// Stdin has no checkpoint.
type Config struct {
	// Path is a file, a glob (`exports/*.jsonl`; matches are read in
	// lexical order), or "-" for stdin (required). A relative path is
	// relative to the config file's directory.
	Path string `koanf:"path"`
	// BatchSize is the largest number of events per batch (default 1000).
	// The checkpoint is saved after each acknowledged batch.
	BatchSize int `koanf:"batch_size"`
	// Follow keeps reading lines appended to the files (and files that
	// start to match the glob), like tail -f, until the pipeline stops.
	// Default false: the source returns once every file was read to its
	// end. With `run --once` the source never follows. Not valid for stdin,
	// which is read until it is closed.
	Follow bool `koanf:"follow"`
	// PollInterval is how often a following source looks for new lines
	// and files (default 1s).
	PollInterval time.Duration `koanf:"poll_interval"`
	// OnInvalidLine is what a line that is not an event does: fail
	// (default) stops the source with the file name and line number, and
	// the checkpoint points at that line, so that a fixed file resumes
	// there; skip logs it, counts it and goes on. A line longer than
	// max_line_bytes is invalid; blank lines are ignored. One of: fail,
	// skip.
	OnInvalidLine string `koanf:"on_invalid_line"`
	// MaxLineBytes bounds one line, in bytes (default 4 MiB, 4194304); it
	// bounds the memory a line can take.
	MaxLineBytes int `koanf:"max_line_bytes"`
}

var _ pipeline.Config = (*Config)(nil)

func defaultConfig() *Config {
	return &Config{
		BatchSize:     1000,
		PollInterval:  time.Second,
		OnInvalidLine: InvalidFail,
		MaxLineBytes:  4 << 20,
	}
}

// Validate implements pipeline.Config.
func (c *Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) { errs = append(errs, pipeline.FieldError(key, format, args...)) }
	switch {
	case c.Path == "":
		add("path", `must be set (a file, a glob such as exports/*.jsonl, or "-" for stdin)`)
	case c.Path != Stdin:
		if _, err := filepath.Match(c.Path, ""); err != nil {
			add("path", "is not a valid glob: %v", err)
		}
	}
	if c.Path == Stdin && c.Follow {
		add("follow", "cannot be used with stdin, which is read until it is closed")
	}
	if c.BatchSize < 1 {
		add("batch_size", "must be >= 1, got %d", c.BatchSize)
	}
	if c.PollInterval <= 0 {
		add("poll_interval", "must be > 0")
	}
	if c.OnInvalidLine != InvalidFail && c.OnInvalidLine != InvalidSkip {
		add("on_invalid_line", "must be fail or skip, got %q", c.OnInvalidLine)
	}
	if c.MaxLineBytes < 2 || c.MaxLineBytes > 1<<30 {
		add("max_line_bytes", "must be between 2 and 1073741824, got %d", c.MaxLineBytes)
	}
	return errors.Join(errs...)
}
