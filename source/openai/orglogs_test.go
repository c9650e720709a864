package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/internal/sourcetest"
	"github.com/auditrelay/auditrelay/source/internal/spantest"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/checkpoint"
	"github.com/auditrelay/auditrelay/source/openai/openaisim"
)

// orgCollector records committed events like a transactional sink: what a
// window's batches bring counts once the window is committed; failAt makes
// batches fail once.
type orgCollector struct {
	mu        sync.Mutex
	ids       []string
	pending   []string
	raw       map[string][]byte
	batches   int
	failAt    map[int]bool // batch numbers (1-based) that fail once
	stopAfter int          // cancel after this many delivered events
	cancel    context.CancelFunc
}

func (c *orgCollector) Consume(_ context.Context, b pipeline.Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batches++
	if c.failAt[c.batches] {
		return errors.New("sink down")
	}
	for _, ev := range b.Events {
		c.pending = append(c.pending, ev.ID)
		if c.raw == nil {
			c.raw = map[string][]byte{}
		}
		c.raw[ev.ID] = bytes.Clone(ev.Raw)
	}
	return nil
}

func (c *orgCollector) CommitWindow(context.Context, string, []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids = append(c.ids, c.pending...)
	c.pending = c.pending[:0]
	if c.stopAfter > 0 && len(c.ids) >= c.stopAfter && c.cancel != nil {
		c.cancel()
	}
	return nil
}

func (c *orgCollector) AbortWindow(context.Context, string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending = c.pending[:0]
	return nil
}

func orgSource(base, order string, mut func(*OrgLogsConfig)) *OrgLogsSource {
	return orgSourceWith(pipeline.Settings{Name: "acme"}, base, order, mut)
}

func orgSourceWith(set pipeline.Settings, base, order string, mut func(*OrgLogsConfig)) *OrgLogsSource {
	cfg := defaultOrgLogsConfig()
	cfg.BaseURL, cfg.APIKey, cfg.Order = base, "sk-admin-test", order
	cfg.PageSize, cfg.BatchSize, cfg.MaxWindowEvents = 61, 150, 500
	cfg.RetryWaitMin, cfg.RetryWaitMax = time.Millisecond, 10*time.Millisecond
	cfg.StartAt = StartAt{Ago: 48 * time.Hour}
	if mut != nil {
		mut(cfg)
	}
	return NewOrgLogsSource(set, *cfg, nil)
}

func TestOrgLogsDeliversEveryRecordOnceInOrder(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name   string
		order  string
		faults openaisim.Faults
		max    int
	}{
		{"asc", "asc", openaisim.Faults{}, 500},
		{"desc", "desc", openaisim.Faults{}, 500},
		{"asc 429 storm", "asc", openaisim.Faults{Rate: 0.15, Kinds: []openaisim.FaultKind{openaisim.Fault429, openaisim.FaultTruncated}, RetryAfter: time.Millisecond}, 500},
		{"desc 429 storm", "desc", openaisim.Faults{Rate: 0.15, Kinds: []openaisim.FaultKind{openaisim.Fault429, openaisim.Fault503, openaisim.FaultEnvelope}, RetryAfter: time.Millisecond}, 500},
		{"desc bounded memory", "desc", openaisim.Faults{}, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, base := startSim(t, openaisim.Options{Seed: 7, OrgLogEvents: 1200, Span: 24 * time.Hour, Start: now.Add(-24 * time.Hour), Faults: tc.faults})
			want := sim.VisibleLogIDs(now.Add(time.Hour))
			store := checkpoint.NewMemory()
			col := &orgCollector{}
			src := orgSource(base, tc.order, func(c *OrgLogsConfig) { c.MaxWindowEvents = tc.max })
			if err := sourcetest.Run(context.Background(), src, col, store, true, time.Second); err != nil {
				t.Fatal(err)
			}
			checkSameIDs(t, col.ids, want)
			for _, id := range want[:3] {
				var obj map[string]any
				if err := json.Unmarshal(col.raw[id], &obj); err != nil || obj["id"] != id {
					t.Fatalf("raw of %s: %v %s", id, err, col.raw[id])
				}
			}
			// A second run delivers nothing new.
			col2 := &orgCollector{}
			if err := sourcetest.Run(context.Background(), src, col2, store, true, time.Second); err != nil {
				t.Fatal(err)
			}
			if len(col2.ids) != 0 {
				t.Fatalf("second run delivered %d events again", len(col2.ids))
			}
		})
	}
}

func checkSameIDs(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("delivered %d events, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("event %d is %s, want %s (order or gap)", i, got[i], want[i])
		}
	}
}

func TestOrgLogsResumesAfterInterruptionAndFailures(t *testing.T) {
	now := time.Now()
	for _, order := range []string{"asc", "desc"} {
		t.Run(order, func(t *testing.T) {
			sim, base := startSim(t, openaisim.Options{Seed: 3, OrgLogEvents: 900, Span: 10 * time.Hour, Start: now.Add(-10 * time.Hour)})
			want := sim.VisibleLogIDs(now.Add(time.Hour))
			store := checkpoint.NewMemory()
			// First run: stopped after ~300 events (asc) or after the first
			// bounded window (desc).
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			first := &orgCollector{stopAfter: 300, cancel: cancel}
			src := orgSource(base, order, func(c *OrgLogsConfig) { c.MaxWindowEvents = 300 })
			if err := sourcetest.Run(ctx, src, first, store, false, time.Second); err != nil {
				t.Fatal(err)
			}
			// Second run with a sink failing twice.
			second := &orgCollector{failAt: map[int]bool{2: true, 4: true}}
			if err := sourcetest.Run(context.Background(), src, second, store, true, time.Second); err != nil {
				t.Fatal(err)
			}
			got := append(append([]string(nil), first.ids...), second.ids...)
			checkSameIDs(t, got, want)
		})
	}
}

func TestOrgLogsRefusedKeyIsPermanent(t *testing.T) {
	_, base := startSim(t, openaisim.Options{Seed: 1, OrgLogEvents: 10, Span: time.Hour, APIKey: "sk-admin-other"})
	src := orgSource(base, "asc", nil)
	err := sourcetest.Run(context.Background(), src, &orgCollector{}, checkpoint.NewMemory(), true, time.Second)
	if err == nil || !pipeline.IsPermanent(err) || !strings.Contains(err.Error(), "admin key was refused") {
		t.Fatalf("got %v, want a permanent refused-key error", err)
	}
	if strings.Contains(err.Error(), "sk-admin-test") {
		t.Fatal("error leaks the key")
	}
}

func TestOrgLogsConfigValidate(t *testing.T) {
	c := defaultOrgLogsConfig()
	c.Order, c.PageSize = "sideways", 500
	err := c.Validate()
	for _, key := range []string{"api_key", "order", "page_size"} {
		if err == nil || !strings.Contains(err.Error(), key+":") {
			t.Fatalf("error %v does not name %s", err, key)
		}
	}
	ok := defaultOrgLogsConfig()
	ok.APIKey = "sk-admin-x"
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestOrgLogsDescReadsABacklogAboutTwice: order desc delivers a backlog
// larger than max_window_events oldest first without walking the whole
// backlog again for every window: about twice the pages of order asc (one
// walk to find where the chunks begin, one to read each again), not once
// per window.
func TestOrgLogsDescReadsABacklogAboutTwice(t *testing.T) {
	now := time.Now()
	pages := map[string]int64{}
	for _, order := range []string{"asc", "desc"} {
		sim, base := startSim(t, openaisim.Options{Seed: 9, OrgLogEvents: 10000, Span: 24 * time.Hour, Start: now.Add(-24 * time.Hour)})
		want := sim.VisibleLogIDs(now.Add(time.Hour))
		col := &orgCollector{}
		src := orgSource(base, order, func(c *OrgLogsConfig) { c.PageSize, c.MaxWindowEvents, c.BatchSize = 100, 1000, 1000 })
		if err := sourcetest.Run(context.Background(), src, col, checkpoint.NewMemory(), true, time.Second); err != nil {
			t.Fatal(err)
		}
		checkSameIDs(t, col.ids, want)
		pages[order] = sim.Stats().Pages
	}
	t.Logf("pages: asc %d, desc %d", pages["asc"], pages["desc"])
	if pages["desc"] > 2*pages["asc"]+10 {
		t.Fatalf("desc read %d pages for a backlog asc reads in %d", pages["desc"], pages["asc"])
	}
}

// TestOrgLogsImpossibleCheckpoint: a checkpoint of the year 3000 (newest
// first, every record would fall below its floor: nothing delivered, in
// silence) or a negative one is a permanent error saying what to do.
func TestOrgLogsImpossibleCheckpoint(t *testing.T) {
	_, base := startSim(t, openaisim.Options{Seed: 1, OrgLogEvents: 50, Span: time.Hour})
	for _, tm := range []int64{32503680000, -1000} {
		store := checkpoint.NewMemory()
		if err := store.Save(t.Context(), "acme", fmt.Appendf(nil, `{"v":1,"time":%d}`, tm)); err != nil {
			t.Fatal(err)
		}
		var c orgCollector
		err := sourcetest.Run(t.Context(), orgSource(base, "desc", nil), &c, store, true, time.Second)
		if !pipeline.IsPermanent(err) || !strings.Contains(err.Error(), "checkpoint") || !strings.Contains(err.Error(), "start_at") {
			t.Fatalf("time %d: %v; want a permanent error about the checkpoint", tm, err)
		}
	}
}

// TestOrgLogsWindowSpans: in both orders, every page request runs in the
// span of a window (each window carrying its own, none ended before the
// engine takes it), a page that fills two windows belongs to the first,
// and a poll that found nothing new ends its span as a poll, once.
func TestOrgLogsWindowSpans(t *testing.T) {
	now := time.Now()
	for _, order := range []string{"asc", "desc"} {
		t.Run(order, func(t *testing.T) {
			sim, base := startSim(t, openaisim.Options{Seed: 11, OrgLogEvents: 1200, Span: 24 * time.Hour, Start: now.Add(-24 * time.Hour)})
			tr := &spantest.Tracer{}
			src := orgSourceWith(pipeline.Settings{Name: "acme", Tracer: tr}, base, order, func(c *OrgLogsConfig) { c.MaxWindowEvents = 300 })
			seen := map[*spantest.Span]bool{}
			events, windows := 0, 0
			var last []byte
			host := pipeline.SourceHost{Once: true, Emit: func(_ context.Context, w pipeline.Window) error {
				events += len(w.Events)
				windows++
				last = w.Cursor
				if msg := tr.Check(w.Span, len(w.Events), true, seen); msg != "" {
					t.Fatalf("window %d: %s", windows, msg)
				}
				return nil
			}}
			for range 2 { // the second run finds nothing new
				if err := src.Run(t.Context(), host); err != nil {
					t.Fatal(err)
				}
				host.Cursor = last
			}
			if want := len(sim.VisibleLogIDs(now.Add(time.Hour))); events != want {
				t.Fatalf("%d events emitted, want %d", events, want)
			}
			if len(seen) < 3 || len(seen) != windows {
				t.Fatalf("%d windows, %d with spans of their own", windows, len(seen))
			}
			if n := tr.Orphans(); n != 0 {
				t.Fatalf("%d page requests outside any window span", n)
			}
			for _, s := range tr.Windows() {
				name, reqs, ends := s.State()
				if ends != 1 || (name != "window" && name != "poll") || (!seen[s] && name != "poll") {
					t.Fatalf("span %q with %d requests ended %d times", name, reqs, ends)
				}
			}
		})
	}
}
