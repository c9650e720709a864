package openai

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/file"
	"github.com/auditrelay/auditrelay/source/checkpoint"
	"github.com/auditrelay/auditrelay/source/openai/openaisim"
	"github.com/auditrelay/auditrelay/test/bench/barepager/pager"
)

// BenchmarkBackfill compares, in one run and against one simulator over
// real HTTP, the audit-log source feeding the file sink with a bare pager
// that fetches the same pages and writes the raw events (the floor). Each
// iteration reads the whole organization. Compare the events/s metrics:
//
//	go test -run '^$' -bench Backfill -benchtime 3x ./source/openai/
func BenchmarkBackfill(b *testing.B) {
	const events = 50000
	sim := openaisim.New(openaisim.Options{Seed: 1, Events: events, Span: 720 * time.Hour, APIKey: "sk-admin-bench"})
	base, err := sim.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	visible := len(sim.VisibleIDs(time.Now())) // tenant.* events need tenant_only

	b.Run("bare_pager", func(b *testing.B) {
		dir := b.TempDir()
		for b.Loop() {
			if n := barePager(b, base, filepath.Join(dir, "bare.jsonl")); n != visible {
				b.Fatalf("bare pager read %d events", n)
			}
		}
		b.ReportMetric(float64(visible*b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("source_to_file", func(b *testing.B) {
		dir := b.TempDir()
		cfg := *defaultConfig()
		cfg.BaseURL, cfg.APIKey, cfg.Settle = base, "sk-admin-bench", 0
		cfg.StartAt = StartAt{Ago: 800 * time.Hour}
		for b.Loop() {
			sink := file.New(filepath.Join(dir, "audit.jsonl"), "jsonl", true, 0o600)
			var n atomic.Int64
			count := pipeline.ConsumerFunc(func(context.Context, pipeline.Batch) error { return nil })
			src := NewAuditSource(pipeline.Settings{Name: "bench"}, cfg, nil)
			p := pipeline.Assemble(pipeline.Parts{Sources: map[string]pipeline.Source{"bench": src},
				Sinks: map[string]pipeline.Consumer{"archive": sink, "count": count}, Store: checkpoint.NewMemory()})
			p.OnProgress(func(_ string, pr pipeline.Progress) { n.Store(pr.Events) })
			if err := p.Run(context.Background(), pipeline.RunOptions{Once: true}); err != nil {
				b.Fatal(err)
			}
			os.Remove(filepath.Join(dir, "audit.jsonl"))
			if n := n.Load(); n != int64(visible) {
				b.Fatalf("source delivered %d events", n)
			}
		}
		b.ReportMetric(float64(visible*b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

func barePager(b *testing.B, base, path string) int {
	n, _, err := pager.ToFile(base, "sk-admin-bench", path)
	if err != nil {
		b.Fatal(err)
	}
	return n
}
