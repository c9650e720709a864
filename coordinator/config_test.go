package coordinator_test

import (
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/coordinator"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *coordinator.Config)
		want   []string // keys named in the error; none means valid
	}{
		{"defaults with a sink", func(c *coordinator.Config) {}, nil},
		{"no sink", func(c *coordinator.Config) { c.Sink = "" }, []string{"sink:"}},
		{"other type", func(c *coordinator.Config) { c.Type = "zookeeper" }, []string{"type:"}},
		{"no group and topic", func(c *coordinator.Config) { c.Group, c.Topic = "", "" }, []string{"group:", "topic:"}},
		{"heartbeat too slow", func(c *coordinator.Config) { c.HeartbeatInterval = 4 * time.Second }, []string{"heartbeat_interval:"}},
		{"zero timeouts", func(c *coordinator.Config) {
			c.SessionTimeout, c.HeartbeatInterval, c.RebalanceTimeout = 0, 0, 0
		}, []string{"session_timeout:", "heartbeat_interval:", "rebalance_timeout:"}},
		{"replication factor 0", func(c *coordinator.Config) { c.ReplicationFactor = 0 }, []string{"replication_factor:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := coordinator.DefaultConfig()
			c.Sink = "kafka"
			tt.mutate(c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors naming %v", tt.want)
			}
			for _, k := range tt.want {
				if !strings.Contains(err.Error(), k) {
					t.Errorf("Validate() = %v, want it to name %q", err, k)
				}
			}
		})
	}
}
