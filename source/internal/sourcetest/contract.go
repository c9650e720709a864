package sourcetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/checkpoint"
)

// Vendor is what the contract of a time-window source asks of a vendor: a
// simulator of its API and its source, built for each scenario.
type Vendor struct {
	// Noun names the vendor's records in messages ("events", "activities").
	Noun string
	// Serve starts the vendor's simulator with the history h, for the
	// length of the test.
	Serve func(t *testing.T, h History) Simulator
	// Source builds the source "acme" against base with the settings k on
	// the clock now (retries and polls of milliseconds, for a test).
	Source func(t *testing.T, base string, k Settings, now func() time.Time) pipeline.Source
	// Repeats is the share of requests the simulator answers with a page
	// sent again during CrashAtRandomPoints, for an API that does so
	// (0: it does not).
	Repeats float64
}

// History is the organization a simulator serves.
type History struct {
	Seed    int64
	Records int
	// The records are spread over [Start, Start+Span).
	Start time.Time
	Span  time.Duration
	// Rate is how many records per second of Now come after Start+Span.
	Rate float64
	// LateFraction of the records become visible late: LateDelay after
	// their time, or up to it for a simulator that spreads the delay.
	LateFraction float64
	LateDelay    time.Duration
	// Repeats is the share of requests answered with a page sent again.
	Repeats float64
	Now     func() time.Time
}

// Simulator is a simulator serving a History.
type Simulator interface {
	// Base is the base URL a source is given.
	Base() string
	// Visible returns the ids of the records visible at the simulator's
	// present whose time is before before, oldest first: what a complete
	// reader that caught up to before delivers.
	Visible(before time.Time) []string
}

// Settings are what the scenarios set of a source's config.
type Settings struct {
	StartAt                              time.Time
	PageSize, MaxWindowEvents, BatchSize int
	Overlap, Settle                      time.Duration
}

// contractT0 is where the scenarios' histories are placed.
var contractT0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// Contract runs the scenarios every time-window source must pass against
// its simulator over HTTP: exactly once and oldest first, crowded seconds,
// late records, an empty organization, a sink that fails, crashes at random
// points, and a local clock ahead of the API's.
func Contract(t *testing.T, v Vendor) {
	c := contract{v}
	t.Run("BackfillDeliversEveryRecordOnceOldestFirst", c.backfill)
	t.Run("SameSecondRecordsAndSplitWindows", c.sameSecond)
	t.Run("LiveTailWithLateRecords", c.liveTail)
	t.Run("EmptyOrganizationCommitsCursor", c.empty)
	t.Run("SinkFailureKeepsCursorAndReplaysOnlyTheWindow", c.sinkFailure)
	t.Run("CrashAtRandomPoints", c.crashes)
	t.Run("LocalClockAheadLosesNothing", c.clockAhead)
}

type contract struct{ v Vendor }

// settings are the scenarios' settings unless one says otherwise.
func settings() Settings {
	return Settings{StartAt: contractT0.Add(-time.Minute), PageSize: 100, MaxWindowEvents: 500, BatchSize: 70,
		Overlap: 5 * time.Minute, Settle: 10 * time.Second}
}

func (c contract) backfill(t *testing.T) {
	clk := NewClock(contractT0.Add(48 * time.Hour))
	sim := c.v.Serve(t, History{Seed: 7, Records: 3000, Span: 48 * time.Hour, Start: contractT0, Now: clk.Now})
	k := settings()
	k.PageSize = 37 // pages end inside seconds, windows, batches
	var got Collector
	store := checkpoint.NewMemory()
	if err := RunOnce(t, c.v.Source(t, sim.Base(), k, clk.Now), &got, store); err != nil {
		t.Fatal(err)
	}
	want := sim.Visible(clk.Now().Add(-k.Settle))
	if len(want) < 2500 {
		t.Fatalf("simulator shows only %d %s", len(want), c.v.Noun)
	}
	CheckExactlyOnce(t, got.IDs, want)
	if !slices.IsSortedFunc(got.Times, func(a, b time.Time) int { return a.Compare(b) }) {
		t.Fatalf("%s not delivered oldest first", c.v.Noun)
	}
	raw, _ := store.Load(context.Background(), "acme")
	if !strings.Contains(string(raw), fmt.Sprintf(`"time":%d`, clk.Now().Add(-k.Settle).Unix())) {
		t.Fatalf("cursor %s does not end at now-settle", raw)
	}
	// A second run with nothing new delivers nothing.
	var again Collector
	if err := RunOnce(t, c.v.Source(t, sim.Base(), k, clk.Now), &again, store); err != nil {
		t.Fatal(err)
	}
	if len(again.IDs) != 0 {
		t.Fatalf("second run re-delivered %d %s", len(again.IDs), c.v.Noun)
	}
}

// sameSecond: 3000 records in 20 seconds, 150 a second, so windows are
// split down to single seconds and the overlap re-reads crowded seconds.
func (c contract) sameSecond(t *testing.T) {
	clk := NewClock(contractT0.Add(time.Hour))
	sim := c.v.Serve(t, History{Seed: 3, Records: 3000, Span: 20 * time.Second, Start: contractT0, Now: clk.Now})
	k := settings()
	k.MaxWindowEvents = 200
	k.Overlap = 3 * time.Second
	var got Collector
	if err := RunOnce(t, c.v.Source(t, sim.Base(), k, clk.Now), &got, checkpoint.NewMemory()); err != nil {
		t.Fatal(err)
	}
	CheckExactlyOnce(t, got.IDs, sim.Visible(clk.Now()))
}

// liveTail polls a live organization whose records are often 90 s late:
// an overlap longer than that misses none, none misses some. The second
// half is what makes the first mean something: the history does hold late
// records.
func (c contract) liveTail(t *testing.T) {
	// missed polls the organization every 20 simulated seconds for 15
	// minutes and returns how many of the records visible by the end, old
	// enough that every poll could have seen them, were not delivered.
	missed := func(overlap time.Duration) (missing, visible int) {
		clk := NewClock(contractT0)
		sim := c.v.Serve(t, History{Seed: 11, Records: 200, Span: time.Hour, Start: contractT0.Add(-time.Hour),
			Rate: 2, LateFraction: 0.3, LateDelay: 90 * time.Second, Now: clk.Now})
		k := settings()
		k.StartAt = contractT0.Add(-2 * time.Hour)
		k.Overlap = overlap
		k.Settle = 5 * time.Second
		store := checkpoint.NewMemory()
		var got Collector
		for range 45 {
			if err := RunOnce(t, c.v.Source(t, sim.Base(), k, clk.Now), &got, store); err != nil {
				t.Fatal(err)
			}
			clk.Add(20 * time.Second)
		}
		seen, dups := count(got.IDs)
		if dups > 0 {
			t.Fatalf("overlap %v: %d %s delivered twice", overlap, dups, c.v.Noun)
		}
		want := sim.Visible(clk.Now().Add(-5 * time.Minute))
		for _, id := range want {
			if seen[id] == 0 {
				missing++
			}
		}
		return missing, len(want)
	}
	if m, n := missed(3 * time.Minute); m > 0 {
		t.Errorf("overlap 3m: %d of %d %s missed", m, n, c.v.Noun)
	}
	if m, _ := missed(0); m == 0 {
		t.Errorf("no late %s missed without overlap: the history holds none, and the case above proves nothing", c.v.Noun)
	}
}

func (c contract) empty(t *testing.T) {
	clk := NewClock(contractT0.Add(time.Hour))
	sim := c.v.Serve(t, History{Seed: 1, Now: clk.Now})
	store := checkpoint.NewMemory()
	var got Collector
	if err := RunOnce(t, c.v.Source(t, sim.Base(), settings(), clk.Now), &got, store); err != nil {
		t.Fatal(err)
	}
	if len(got.IDs) != 0 {
		t.Fatalf("delivered %d %s; want none", len(got.IDs), c.v.Noun)
	}
	if raw, _ := store.Load(context.Background(), "acme"); raw == nil {
		t.Fatal("no cursor saved for an empty window")
	}
}

// sinkFailure: the sink fails for good in the middle of a window (the
// second batch after a commit, from the ninth batch on), so that part of
// the window was taken before the failure; a restart replays that window
// only.
func (c contract) sinkFailure(t *testing.T) {
	clk := NewClock(contractT0.Add(24 * time.Hour))
	sim := c.v.Serve(t, History{Seed: 9, Records: 2000, Span: 24 * time.Hour, Start: contractT0, Now: clk.Now})
	k := settings()
	store := checkpoint.NewMemory()
	var got Collector
	w := &Windowed{Collector: &got}
	n := 0
	got.Fail = func(pipeline.Batch) error {
		n++
		if n >= 9 && w.SinceCommit == 1 {
			return pipeline.Permanent(errors.New("disk on fire"))
		}
		w.SinceCommit++
		return nil
	}
	err := RunOnce(t, c.v.Source(t, sim.Base(), k, clk.Now), w, store)
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err = %v", err)
	}
	firstRun := len(got.IDs)
	got.Fail = nil
	if err := RunOnce(t, c.v.Source(t, sim.Base(), k, clk.Now), &got, store); err != nil {
		t.Fatal(err)
	}
	seen, dups := count(got.IDs)
	for _, id := range sim.Visible(clk.Now().Add(-k.Settle)) {
		if seen[id] == 0 {
			t.Fatalf("%s missing after the restart", id)
		}
	}
	if dups == 0 || dups > k.MaxWindowEvents {
		t.Fatalf("%d duplicates after a failed window (first run delivered %d); want 1..%d (the uncommitted window)", dups, firstRun, k.MaxWindowEvents)
	}
}

// crashes stops the source at random points of a back-fill of many
// windows and restarts it from the saved cursor. A hard kill (no drain)
// may replay the uncommitted window; a graceful stop (drain) delivers
// everything exactly once.
func (c contract) crashes(t *testing.T) {
	for _, graceful := range []bool{false, true} {
		t.Run(map[bool]string{false: "kill", true: "graceful"}[graceful], func(t *testing.T) {
			clk := NewClock(contractT0.Add(72 * time.Hour))
			sim := c.v.Serve(t, History{Seed: 21, Records: 6000, Span: 72 * time.Hour, Start: contractT0, Now: clk.Now, Repeats: c.v.Repeats})
			k := settings()
			k.MaxWindowEvents = 400
			k.BatchSize = 20
			store := checkpoint.NewMemory()
			var got Collector
			kills := Crashes(t, graceful, rand.New(rand.NewPCG(1, 2)), 25, func(f func(pipeline.Batch) error) { got.Fail = f },
				func(ctx context.Context, drain time.Duration) error {
					return Run(ctx, c.v.Source(t, sim.Base(), k, clk.Now), &got, store, true, drain)
				})
			if kills < 10 {
				t.Fatalf("only %d crashes happened", kills)
			}
			want := sim.Visible(clk.Now().Add(-k.Settle))
			seen, dups := count(got.IDs)
			for _, id := range want {
				if seen[id] == 0 {
					t.Fatalf("%s lost after %d crashes", id, kills)
				}
			}
			if len(seen) != len(want) {
				t.Fatalf("%d distinct ids delivered, simulator has %d", len(seen), len(want))
			}
			if graceful && dups > 0 {
				t.Fatalf("%d duplicates after %d graceful stops; want none", dups, kills)
			}
			if dups > kills*k.MaxWindowEvents {
				t.Fatalf("%d duplicates after %d kills: more than one window (%d) per kill", dups, kills, k.MaxWindowEvents)
			}
			t.Logf("%d %s, %d stops, %d duplicates", len(want), c.v.Noun, kills, dups)
		})
	}
}

// clockAhead: a machine whose clock runs 10 minutes ahead of the API plans
// its windows on the API's clock (its Date header), so its cursor never
// passes records the API does not show yet.
func (c contract) clockAhead(t *testing.T) {
	clk := NewClock(contractT0)
	sim := c.v.Serve(t, History{Seed: 13, Records: 300, Span: time.Hour, Start: contractT0.Add(-time.Hour), Rate: 2, Now: clk.Now})
	k := settings()
	k.StartAt = contractT0.Add(-2 * time.Hour)
	k.Overlap = time.Minute
	k.Settle = 5 * time.Second
	ahead := func() time.Time { return clk.Now().Add(10 * time.Minute) }
	store := checkpoint.NewMemory()
	var got Collector
	for range 30 { // a poll every 20 simulated seconds for 10 minutes
		if err := RunOnce(t, c.v.Source(t, sim.Base(), k, ahead), &got, store); err != nil {
			t.Fatal(err)
		}
		clk.Add(20 * time.Second)
	}
	CheckExactlyOnce(t, got.IDs, sim.Visible(clk.Now().Add(-20*time.Second-k.Settle)))
}

// Crashes calls run until a run ends without being stopped, and returns
// how many were. Each run is stopped after a random number of batches, 1 to
// maxBatches, counted by the check that arm gives the sink: a kill fails
// that batch and leaves the engine no time to drain; a graceful stop
// drains.
func Crashes(t *testing.T, graceful bool, rng *rand.Rand, maxBatches int, arm func(func(pipeline.Batch) error),
	run func(ctx context.Context, drain time.Duration) error) int {
	t.Helper()
	drain := time.Nanosecond
	if graceful {
		drain = 10 * time.Second
	}
	for stops := 0; ; stops++ {
		if stops > 200 {
			t.Fatal("no progress after 200 restarts")
		}
		ctx, cancel := context.WithCancel(t.Context())
		budget := rng.IntN(maxBatches) + 1
		arm(func(pipeline.Batch) error {
			if budget--; budget == 0 {
				cancel() // the crash
				if !graceful {
					return errors.New("killed")
				}
			}
			return nil
		})
		err := run(ctx, drain)
		stopped := ctx.Err() != nil
		cancel()
		// A kill interrupts the window in delivery, which is reported as
		// such; anything else is a failure.
		if err != nil && !(stopped && !graceful && errors.Is(err, pipeline.ErrInterrupted)) {
			t.Fatal(err)
		}
		if !stopped {
			return stops
		}
	}
}

// count returns how many times each id came, and how many came again.
func count(ids []string) (map[string]int, int) {
	seen := map[string]int{}
	dups := 0
	for _, id := range ids {
		if seen[id]++; seen[id] > 1 {
			dups++
		}
	}
	return seen, dups
}
