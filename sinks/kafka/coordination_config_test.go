package kafka

import (
	"strings"
	"testing"
	"time"
)

func TestCoordinationConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *CoordinationConfig)
		want   []string // keys named in the error; none means valid
	}{
		{"defaults", func(c *CoordinationConfig) {}, nil},
		{"no group and topic", func(c *CoordinationConfig) { c.Group, c.Topic = "", "" }, []string{"group:", "topic:"}},
		{"heartbeat too slow", func(c *CoordinationConfig) { c.HeartbeatInterval = 4 * time.Second }, []string{"heartbeat_interval:"}},
		{"zero timeouts", func(c *CoordinationConfig) {
			c.SessionTimeout, c.HeartbeatInterval, c.RebalanceTimeout = 0, 0, 0
		}, []string{"session_timeout:", "heartbeat_interval:", "rebalance_timeout:"}},
		{"replication factor 0", func(c *CoordinationConfig) { c.ReplicationFactor = 0 }, []string{"replication_factor:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultCoordinationConfig()
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
