package anthropic

import (
	"slices"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
	"github.com/auditrelay/auditrelay/source/httpapi"
	"github.com/auditrelay/auditrelay/source/internal/sourcetest"
)

// TestFeedWalksNewestFirstOnce: a Feed reads the feed newest first in
// pages of its limit, each activity once though every page the API sends
// after a cursor repeats the cursor's activity, from After on; Before asks
// for the newer neighbours.
func TestFeedWalksNewestFirstOnce(t *testing.T) {
	clk := sourcetest.NewClock(t0.Add(24 * time.Hour))
	sim, base := startSim(t, anthropicsim.Options{Seed: 9, Activities: 700, Span: 24 * time.Hour, Start: t0, Now: clk.Now,
		RequestsPerMinute: -1, Keys: []anthropicsim.Key{{Secret: testKey}},
		Faults: anthropicsim.Faults{Rate: 1, Kinds: []anthropicsim.FaultKind{anthropicsim.FaultRepeat}}})
	want := slices.Clone(sim.Truth().IDs)
	slices.Reverse(want)
	f, err := NewFeed(pipeline.Settings{Name: "cli"}, testConfig(base))
	if err != nil {
		t.Fatal(err)
	}
	walk := func(q Query) (ids []string, pages int) {
		t.Helper()
		err := f.Walk(t.Context(), q, func(p httpapi.Page) bool {
			pages++
			for _, ev := range p.Events {
				ids = append(ids, ev.ID)
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		return ids, pages
	}
	// A page after a cursor holds one new activity less.
	if got, pages := walk(Query{Limit: 50}); !slices.Equal(got, want) || pages != 1+(700-50+48)/49 {
		t.Fatalf("%d activities in %d pages, want %d in 15, newest first, each once", len(got), pages, len(want))
	}
	if sim.Stats().Faults[anthropicsim.FaultRepeat] == 0 {
		t.Fatal("no page repeated its cursor: the test proves nothing")
	}
	// The config's page_size (100) bounds a larger limit.
	if got, pages := walk(Query{After: want[99], Limit: 1000}); !slices.Equal(got, want[100:]) || pages != (600+98)/99 {
		t.Fatalf("after the 100th: %d activities in %d pages, want %d in 7", len(got), pages, len(want)-100)
	}
	// One page: the nearest newer ones, the cursor's repeat dropped.
	if got, pages := walk(Query{Before: want[10], Limit: 3}); pages != 1 || len(got) != 2 || !slices.Equal(got, want[8:10]) {
		t.Fatalf("before the 11th: %v in %d pages, want %v", got, pages, want[8:10])
	}
}
