package otlp

import (
	"strings"
	"testing"

	"github.com/auditrelay/auditrelay/pipeline"
)

// TestHeadersInClear: key headers over http:// or plaintext gRPC to a
// remote collector are warned about; TLS, https or a loopback agent are not.
func TestHeadersInClear(t *testing.T) {
	for _, tc := range []struct {
		protocol, endpoint string
		tls, warn          bool
	}{
		{ProtocolGRPC, "collector.example:4317", false, true},
		{ProtocolGRPC, "collector.example:4317", true, false},
		{ProtocolGRPC, "https://collector.example:4317", false, false},
		{ProtocolGRPC, "localhost:4317", false, false},
		{ProtocolHTTPProtobuf, "http://collector.example:4318", false, true},
		{ProtocolHTTPProtobuf, "https://collector.example:4318", false, false},
	} {
		c := defaultConfig()
		c.Protocol, c.Endpoint, c.TLS.Enabled = tc.protocol, tc.endpoint, tc.tls
		c.Headers = map[string]pipeline.Secret{"x-api-key": "k"}
		if w := c.Warnings(); (len(w) > 0) != tc.warn || (tc.warn && !strings.HasPrefix(w[0].Error(), "endpoint: ")) {
			t.Errorf("%s %s tls=%v: %v, want a warning: %v", tc.protocol, tc.endpoint, tc.tls, w, tc.warn)
		}
	}
}
