package kafka

import (
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/sinks/httpbatch/httpbatchtest"
)

func TestCoordinationConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *CoordinationConfig)
		want   []string // keys named in the error; none means valid
	}{
		{"defaults", func(c *CoordinationConfig) {}, nil},
		{"no group and topic", func(c *CoordinationConfig) { c.Group, c.Topic = "", "" }, []string{"group:", "topic:"}},
		{"topic with a space", func(c *CoordinationConfig) { c.Topic = "relay coordination" }, []string{"topic:"}},
		{"heartbeat too slow", func(c *CoordinationConfig) { c.HeartbeatInterval = 4 * time.Second }, []string{"heartbeat_interval:"}},
		{"zero timeouts", func(c *CoordinationConfig) {
			c.SessionTimeout, c.HeartbeatInterval, c.RebalanceTimeout = 0, 0, 0
		}, []string{"session_timeout:", "heartbeat_interval:", "rebalance_timeout:"}},
		{"replication factor 0", func(c *CoordinationConfig) { c.ReplicationFactor = 0 }, []string{"replication_factor:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &CoordinationConfig{}
			c.SetDefaults()
			tt.mutate(c)
			httpbatchtest.NamesKeys(t, c.Validate(), tt.want)
		})
	}
}
