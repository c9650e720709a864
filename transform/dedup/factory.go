package dedup

import (
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// NewFactory returns the factory of the dedup transform, type "dedup".
func NewFactory() pipeline.TransformFactory {
	return pipeline.NewTransformFactory("dedup",
		func() *Config { return &Config{MaxEntries: 200_000, TTL: 24 * time.Hour} },
		func(set pipeline.Settings, c *Config) (pipeline.Transform, error) {
			return New(c, time.Now), nil
		})
}
