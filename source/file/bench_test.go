package file

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/checkpoint"
)

// BenchmarkReplay measures reading, indexing and batching an export of
// mixed audit and request logs into a consumer that acknowledges at once.
func BenchmarkReplay(b *testing.B) {
	lines, _ := export(b, 10, 20000)
	path := filepath.Join(b.TempDir(), "export.jsonl")
	writeLines(b, path, lines, "\n")
	size := 0
	for _, l := range lines {
		size += len(l) + 1
	}
	next := pipeline.ConsumerFunc(func(context.Context, pipeline.Batch) error { return nil })
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		src := newSource(b, Config{Path: path}, nil)
		if err := run(b.Context(), src, next, checkpoint.NewMemory(), true, time.Second); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(lines)*b.N)/b.Elapsed().Seconds(), "events/s")
}
