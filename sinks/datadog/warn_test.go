package datadog

import (
	"strings"
	"testing"
)

func TestAPIKeyInClear(t *testing.T) {
	c := defaultConfig()
	c.APIKey = "k"
	if w := c.Warnings(); len(w) != 0 {
		t.Fatalf("the default https intake: %v", w)
	}
	c.Endpoint = "http://proxy.example:8080"
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0].Error(), "API key in clear") {
		t.Fatalf("warnings %v", w)
	}
}
