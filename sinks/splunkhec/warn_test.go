package splunkhec

import (
	"strings"
	"testing"
)

// TestTokenInClear: an http:// endpoint is warned about (the token goes in
// clear), a loopback one is not, and tls set for an http:// endpoint is an
// error naming tls.
func TestTokenInClear(t *testing.T) {
	c := defaultConfig()
	c.Endpoint, c.Token = "http://splunk.example:8088", "t"
	if w := c.Warnings(); len(w) != 1 || !strings.HasPrefix(w[0].Error(), "endpoint: ") || !strings.Contains(w[0].Error(), "HEC token") {
		t.Fatalf("warnings %v", w)
	}
	c.Endpoint = "http://127.0.0.1:8088"
	if w := c.Warnings(); len(w) != 0 {
		t.Fatalf("loopback: %v", w)
	}
	c.Endpoint, c.TLS.Enabled = "http://splunk.example:8088", true
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "tls: is set, but the URL is http://") {
		t.Fatalf("tls with http://: %v", err)
	}
}
