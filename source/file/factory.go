package file

import (
	"os"
	"path/filepath"

	"github.com/auditrelay/auditrelay/pipeline"
)

// NewFactory returns the factory of the replay source, type "file".
func NewFactory() pipeline.SourceFactory {
	return pipeline.NewSourceFactory("file", defaultConfig, func(set pipeline.Settings, c *Config) (pipeline.Source, error) {
		cfg := *c
		if cfg.Path != Stdin && !filepath.IsAbs(cfg.Path) && set.BaseDir != "" {
			cfg.Path = filepath.Join(set.BaseDir, cfg.Path)
		}
		return New(set, cfg, os.Stdin), nil
	})
}
