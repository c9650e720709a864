package kafka

import (
	"strings"
	"testing"
)

func TestPlainPasswordInClear(t *testing.T) {
	c := defaultConfig()
	c.Brokers = []string{"kafka.example:9092"}
	c.SASL.Mechanism = "PLAIN"
	if w := c.Warnings(); len(w) != 1 || !strings.HasPrefix(w[0].Error(), "sasl.mechanism: ") {
		t.Fatalf("PLAIN without tls: %v", w)
	}
	c.TLS.Enabled = true
	if w := c.Warnings(); len(w) != 0 {
		t.Fatalf("PLAIN with tls: %v", w)
	}
	c.TLS.Enabled, c.SASL.Mechanism = false, "SCRAM-SHA-512"
	if w := c.Warnings(); len(w) != 0 {
		t.Fatalf("SCRAM: %v", w)
	}
	c.SASL.Mechanism, c.Brokers = "PLAIN", []string{"127.0.0.1:9092"}
	if w := c.Warnings(); len(w) != 0 {
		t.Fatalf("loopback brokers: %v", w)
	}
}
