package kafka

import (
	"fmt"

	"github.com/auditrelay/auditrelay/pipeline"
)

// NewFactory returns the factory of the Kafka sink, type "kafka": a *Sink,
// or a *TxnSink with exactly_once.
func NewFactory() pipeline.SinkFactory {
	return pipeline.NewSinkFactory("kafka", defaultConfig,
		func(set pipeline.Settings, c *Config) (pipeline.Sink, error) {
			cfg := *c
			cfg.TLS.Resolve(set.BaseDir)
			s, err := New(set, &cfg)
			if err != nil || !cfg.ExactlyOnce {
				return s, err
			}
			return &TxnSink{Sink: s}, nil
		})
}

// NewStoreFactory returns the factory of the Kafka checkpoint store, type
// "kafka". Its `sink` key names the kafka sink it writes through; with a
// `coordination:` section the store is also the pipeline's Gate.
func NewStoreFactory() pipeline.StoreFactory {
	return pipeline.NewStoreFactory("kafka",
		func() *StoreConfig { return &StoreConfig{Topic: "auditrelay-checkpoints"} },
		func(set pipeline.Settings, c *StoreConfig, host pipeline.StoreHost) (pipeline.CursorStore, error) {
			s, ok := host.Sinks[c.Sink]
			if !ok {
				return nil, fmt.Errorf("kafka checkpoint store: sink: no sink named %q", c.Sink)
			}
			st, err := NewStore(s, c.Topic)
			if err != nil || c.Coordination == nil {
				return st, err
			}
			if st.txn == nil {
				return nil, fmt.Errorf("kafka checkpoint store: coordination: sink %q needs exactly_once", c.Sink)
			}
			coord := newCoordinator(*c.Coordination, st.txn, host.Sources, set.Log().With("component", "coordinator"), set.Tel())
			return &gatedStore{Store: st, coord: coord}, nil
		})
}
