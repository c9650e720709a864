package webhook

import (
	"strings"
	"testing"

	"github.com/auditrelay/auditrelay/pipeline"
)

func TestHeadersInClear(t *testing.T) {
	c := defaultConfig()
	c.URL = "http://hooks.example/x"
	if w := c.Warnings(); len(w) != 0 {
		t.Fatalf("no headers: %v", w)
	}
	c.Headers = map[string]pipeline.Secret{"Authorization": "Bearer x"}
	if w := c.Warnings(); len(w) != 1 || !strings.HasPrefix(w[0].Error(), "url: ") {
		t.Fatalf("warnings %v", w)
	}
}
