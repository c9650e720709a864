package checkpoint

import (
	"errors"

	"github.com/auditrelay/auditrelay/pipeline"
)

// FileConfig configures the file store (type "file").
type FileConfig struct {
	// Dir holds one file per source; a relative path is relative to the
	// config file's directory. Created when missing.
	Dir string `koanf:"dir"`
}

var _ pipeline.Config = (*FileConfig)(nil)

// Validate implements pipeline.Config.
func (c *FileConfig) Validate() error {
	if c.Dir == "" {
		return errors.Join(pipeline.FieldError("dir", "must be set"))
	}
	return nil
}

// MemoryConfig configures the memory store (type "memory"): cursors live as
// long as the process, for demos and tests.
type MemoryConfig struct{}

var _ pipeline.Config = (*MemoryConfig)(nil)

// Validate implements pipeline.Config.
func (*MemoryConfig) Validate() error { return nil }
