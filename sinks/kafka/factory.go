package kafka

import (
	"fmt"

	"github.com/auditrelay/auditrelay/pipeline"
)

// NewFactory returns the factory of the Kafka sink, type "kafka".
func NewFactory() pipeline.SinkFactory {
	return pipeline.NewSinkFactory("kafka", defaultConfig,
		func(set pipeline.Settings, c *Config) (pipeline.Sink, error) {
			cfg := *c
			cfg.TLS.Resolve(set.BaseDir)
			return New(set, &cfg)
		})
}

// NewStoreFactory returns the factory of the Kafka checkpoint store, type
// "kafka". Its `sink` key names the kafka sink it writes through.
func NewStoreFactory() pipeline.StoreFactory {
	return pipeline.NewStoreFactory("kafka",
		func() *StoreConfig { return &StoreConfig{Topic: "auditrelay-checkpoints"} },
		func(_ pipeline.Settings, c *StoreConfig, host pipeline.StoreHost) (pipeline.CheckpointStore, error) {
			s, ok := host.Sinks[c.Sink]
			if !ok {
				return nil, fmt.Errorf("kafka checkpoint store: sink: no sink named %q", c.Sink)
			}
			ks, ok := s.(*Sink)
			if !ok {
				return nil, fmt.Errorf("kafka checkpoint store: sink: %q is a %T, not a kafka sink", c.Sink, s)
			}
			return NewStore(ks, c.Topic), nil
		})
}
