package enrich

import (
	"fmt"
	"os"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// NewFactory returns the factory of the enrich transform, type "enrich".
func NewFactory() pipeline.TransformFactory {
	return pipeline.NewTransformFactory("enrich", DefaultConfig,
		func(set pipeline.Settings, c *Config) (pipeline.Transform, error) {
			cfg := *c
			if cfg.Host == "" {
				cfg.Host, _ = os.Hostname()
			}
			cfg.TLS.Resolve(set.BaseDir)
			client, err := cfg.TLS.HTTPClient(set.Log(), 0)
			if err != nil {
				return nil, fmt.Errorf("enrich: tls: %w", err)
			}
			e := New(&cfg, set.Log(), client, time.Now)
			e.tel, e.name = set.Tel(), set.Name
			return e, nil
		})
}

// DefaultConfig returns the defaults.
func DefaultConfig() *Config {
	return &Config{
		BaseURL:         "https://api.openai.com/v1",
		RefreshInterval: 10 * time.Minute,
		TTL:             time.Hour,
		MaxEntries:      100_000,
		Timeout:         30 * time.Second,
	}
}
