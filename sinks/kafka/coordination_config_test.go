package kafka

import (
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/sinks/httpbatch/httpbatchtest"
)

func TestCoordinationConfigValidate(t *testing.T) {
	defaults := func() *CoordinationConfig {
		c := &CoordinationConfig{}
		c.SetDefaults()
		return c
	}
	httpbatchtest.ValidateCases(t, defaults, []httpbatchtest.ConfigCase[*CoordinationConfig]{
		{Name: "defaults", Mod: func(c *CoordinationConfig) {}},
		{Name: "no group and topic", Mod: func(c *CoordinationConfig) { c.Group, c.Topic = "", "" }, Want: []string{"group:", "topic:"}},
		{Name: "topic with a space", Mod: func(c *CoordinationConfig) { c.Topic = "relay coordination" }, Want: []string{"topic:"}},
		{Name: "heartbeat too slow", Mod: func(c *CoordinationConfig) { c.HeartbeatInterval = 4 * time.Second }, Want: []string{"heartbeat_interval:"}},
		{Name: "zero timeouts", Mod: func(c *CoordinationConfig) {
			c.SessionTimeout, c.HeartbeatInterval, c.RebalanceTimeout = 0, 0, 0
		}, Want: []string{"session_timeout:", "heartbeat_interval:", "rebalance_timeout:"}},
		{Name: "replication factor 0", Mod: func(c *CoordinationConfig) { c.ReplicationFactor = 0 }, Want: []string{"replication_factor:"}},
	})
}
