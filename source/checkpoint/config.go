package checkpoint

import (
	"errors"

	"github.com/auditrelay/auditrelay/pipeline"
)

// FileConfig configures the file store: one small JSON file per source,
// written to a temporary file, fsynced and renamed, so that a crash leaves
// either the old cursor or the new one, never a torn one.
type FileConfig struct {
	// Dir holds one file per source (default state); a relative path is
	// relative to the config file's directory. Created when missing.
	Dir string `koanf:"dir"`
}

var (
	_ pipeline.Config     = (*FileConfig)(nil)
	_ pipeline.StateDirer = (*FileConfig)(nil)
)

// StateDir implements pipeline.StateDirer: state that moves with the
// cursors lives in the same directory.
func (c *FileConfig) StateDir() string { return c.Dir }

// Validate implements pipeline.Config.
func (c *FileConfig) Validate() error {
	if c.Dir == "" {
		return errors.Join(pipeline.FieldError("dir", "must be set"))
	}
	return nil
}

// MemoryConfig configures the memory store: cursors live as long as the
// process, for demos and tests; every start begins at start_at again.
type MemoryConfig struct{}

var (
	_ pipeline.Config     = (*MemoryConfig)(nil)
	_ pipeline.StateDirer = (*MemoryConfig)(nil)
)

// StateDir implements pipeline.StateDirer: "", nothing survives a restart.
func (*MemoryConfig) StateDir() string { return "" }

// Validate implements pipeline.Config.
func (*MemoryConfig) Validate() error { return nil }
