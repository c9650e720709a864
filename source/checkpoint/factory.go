package checkpoint

import (
	"path/filepath"

	"github.com/auditrelay/auditrelay/pipeline"
)

// NewFileFactory returns the factory of the file store, type "file".
func NewFileFactory() pipeline.StoreFactory {
	return pipeline.NewStoreFactory("file", func() *FileConfig { return &FileConfig{Dir: "state"} },
		func(set pipeline.Settings, c *FileConfig, _ pipeline.StoreHost) (pipeline.CursorStore, error) {
			dir := c.Dir
			if !filepath.IsAbs(dir) && set.BaseDir != "" {
				dir = filepath.Join(set.BaseDir, dir)
			}
			return NewFile(dir), nil
		})
}

// NewMemoryFactory returns the factory of the memory store, type "memory".
func NewMemoryFactory() pipeline.StoreFactory {
	return pipeline.NewStoreFactory("memory", func() *MemoryConfig { return &MemoryConfig{} },
		func(pipeline.Settings, *MemoryConfig, pipeline.StoreHost) (pipeline.CursorStore, error) {
			return NewMemory(), nil
		})
}
