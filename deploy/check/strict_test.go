package check

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestStrictDecodingRefuses shows that the decoding above can fail: real
// renders, each with one mistake of the kind a hand-edited manifest or
// template gets, must be refused.
func TestStrictDecodingRefuses(t *testing.T) {
	base := string(kustomize(t, filepath.Join("..", "kubernetes", "base")))
	overlay := string(kustomize(t, filepath.Join("..", "kubernetes", "overlays", "prometheus-operator")))
	for _, c := range []struct {
		name, render, old, new, want string
	}{
		{"misspelled field", base, "imagePullPolicy:", "imagePullPolicyy:", `unknown field "imagePullPolicyy"`},
		{"field at the wrong level", base, "  enableServiceLinks: false", "  enableServiceLinks: false\n      readOnlyRootFilesystem: true", `unknown field "readOnlyRootFilesystem"`},
		{"wrong type", base, "replicas: 1", `replicas: "1"`, "cannot unmarshal string"},
		{"bad quantity", base, "memory: 256Mi", "memory: 256 MiB", "quantities must match"},
		{"wrong apiVersion", base, "apiVersion: apps/v1", "apiVersion: apps/v1beta1", `unexpected "apps/v1beta1 Deployment"`},
		{"duplicate key", base, "imagePullPolicy: IfNotPresent", "imagePullPolicy: IfNotPresent\n        imagePullPolicy: Always", "already set"},
		{"misspelled ServiceMonitor field", overlay, "interval:", "intervall:", "unknown field"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(c.render, c.old) {
				t.Fatalf("the render has no %q to change", c.old)
			}
			_, err := decodeStrict([]byte(strings.Replace(c.render, c.old, c.new, 1)))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want one with %q", err, c.want)
			}
		})
	}
}
