package detect

import (
	"path/filepath"

	"github.com/auditrelay/auditrelay/pipeline"
)

// NewFactory returns the factory of the detect transform, type "detect".
func NewFactory() pipeline.TransformFactory {
	return pipeline.NewTransformFactory("detect", DefaultConfig, func(set pipeline.Settings, c *Config) (pipeline.Transform, error) {
		dir := c.StateDir
		if dir != "" && !filepath.IsAbs(dir) && set.BaseDir != "" {
			dir = filepath.Join(set.BaseDir, dir)
		}
		d, err := New(c, dir, set.Log())
		if err != nil {
			return nil, err
		}
		d.name = set.Name
		d.observer, _ = set.Tel().(pipeline.AlertObserver)
		return d, nil
	})
}
