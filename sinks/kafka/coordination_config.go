package kafka

import (
	"errors"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// CoordinationConfig is the `coordination:` section of the Kafka cursor
// store: replicas of auditrelay that keep their cursors in the same Kafka
// cluster share the sources out through a consumer group.
type CoordinationConfig struct {
	// Group is the consumer group the replicas join (default auditrelay).
	// Replicas of different deployments need different groups.
	Group string `koanf:"group"`
	// Topic is the coordination topic (default auditrelay-coordination).
	// It is created with one partition per source when missing.
	Topic string `koanf:"topic"`
	// ReplicationFactor is the replication factor of the coordination topic
	// when it is created (default -1: the broker's default).
	ReplicationFactor int16 `koanf:"replication_factor"`
	// SessionTimeout is how long a silent replica keeps its sources before
	// Kafka gives them to the others (default 10s). It must lie within the
	// brokers' group.min/max.session.timeout.ms.
	SessionTimeout time.Duration `koanf:"session_timeout"`
	// HeartbeatInterval is how often a replica tells Kafka it is alive
	// (default 1s; at most a third of session_timeout).
	HeartbeatInterval time.Duration `koanf:"heartbeat_interval"`
	// RebalanceTimeout is how long a rebalance waits for replicas to stop
	// the sources they give up (default 60s). Keep it above
	// shutdown_timeout, which bounds a source's drain.
	RebalanceTimeout time.Duration `koanf:"rebalance_timeout"`
}

var (
	_ pipeline.Config    = (*CoordinationConfig)(nil)
	_ pipeline.Defaulter = (*CoordinationConfig)(nil)
)

// SetDefaults implements pipeline.Defaulter: a `coordination:` section
// that sets some keys gets the defaults of the others.
func (c *CoordinationConfig) SetDefaults() {
	*c = CoordinationConfig{
		Group:             "auditrelay",
		Topic:             "auditrelay-coordination",
		ReplicationFactor: -1,
		SessionTimeout:    10 * time.Second,
		HeartbeatInterval: time.Second,
		RebalanceTimeout:  60 * time.Second,
	}
}

// Validate reports every problem of the section, each naming its key.
func (c *CoordinationConfig) Validate() error {
	var errs []error
	if c.Group == "" {
		errs = append(errs, pipeline.FieldError("group", "must be set"))
	}
	if err := validTopicName(c.Topic); err != nil {
		errs = append(errs, pipeline.FieldError("topic", "%v", err))
	}
	if c.ReplicationFactor == 0 || c.ReplicationFactor < -1 {
		errs = append(errs, pipeline.FieldError("replication_factor", "must be -1 (broker default) or > 0"))
	}
	if c.SessionTimeout <= 0 {
		errs = append(errs, pipeline.FieldError("session_timeout", "must be > 0"))
	}
	if c.HeartbeatInterval <= 0 {
		errs = append(errs, pipeline.FieldError("heartbeat_interval", "must be > 0"))
	} else if c.SessionTimeout > 0 && 3*c.HeartbeatInterval > c.SessionTimeout {
		errs = append(errs, pipeline.FieldError("heartbeat_interval", "must be at most a third of session_timeout (%s)", c.SessionTimeout))
	}
	if c.RebalanceTimeout <= 0 {
		errs = append(errs, pipeline.FieldError("rebalance_timeout", "must be > 0"))
	}
	return errors.Join(errs...)
}
