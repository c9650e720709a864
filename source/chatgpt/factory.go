package chatgpt

import (
	"path/filepath"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/httpapi"
)

// NewFactory returns the factory of the compliance-log source, type
// "chatgpt_compliance_logs". lims shares one request limiter per API key
// among the sources of the process (nil: one per source).
func NewFactory(lims *httpapi.Limiters) pipeline.SourceFactory {
	return pipeline.NewSourceFactory(Type, DefaultConfig, func(set pipeline.Settings, c *Config) (pipeline.Source, error) {
		cfg := *c
		cfg.TLS.Resolve(set.BaseDir)
		if cfg.SpoolDir != "" && !filepath.IsAbs(cfg.SpoolDir) && set.BaseDir != "" {
			cfg.SpoolDir = filepath.Join(set.BaseDir, cfg.SpoolDir)
		}
		s, err := NewSource(set, cfg, lims)
		if err != nil {
			return nil, err
		}
		return s, nil
	})
}
