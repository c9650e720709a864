package file

import (
	"os"
	"path/filepath"

	"github.com/auditrelay/auditrelay/pipeline"
)

// NewFactory returns the factory of the file sink, type "file".
func NewFactory() pipeline.SinkFactory {
	return pipeline.NewSinkFactory("file", defaultConfig, func(set pipeline.Settings, c *Config) (pipeline.Sink, error) {
		path := c.Path
		if path != "-" && !filepath.IsAbs(path) && set.BaseDir != "" {
			path = filepath.Join(set.BaseDir, path)
		}
		s := New(path, c.Format, c.Fsync, os.FileMode(c.Mode))
		s.log = set.Log()
		return s, nil
	})
}
