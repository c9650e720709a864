package otlp

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"sync"
	"testing"
)

// TestGzipCompressor: what the gRPC compressor writes is gzip any reader
// takes, also when writers are reused concurrently.
func TestGzipCompressor(t *testing.T) {
	c := &gzipCompressor{}
	if c.Type() != "gzip" {
		t.Fatalf("Type() = %q", c.Type())
	}
	inputs := [][]byte{nil, []byte("x"), []byte(strings.Repeat(`{"id":"audit_log-1","type":"login.succeeded"}`, 500))}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for _, in := range inputs {
				var buf bytes.Buffer
				if err := c.Do(&buf, in); err != nil {
					t.Error(err)
					return
				}
				zr, err := gzip.NewReader(&buf)
				if err != nil {
					t.Error(err)
					return
				}
				out, err := io.ReadAll(zr)
				if err != nil || !bytes.Equal(out, in) {
					t.Errorf("round trip of %d bytes: got %d bytes, %v", len(in), len(out), err)
				}
			}
		})
	}
	wg.Wait()
}
