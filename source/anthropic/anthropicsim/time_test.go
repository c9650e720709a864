package anthropicsim_test

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
	"github.com/auditrelay/auditrelay/source/internal/sourcetest"
)

// TestLateActivitiesAndTheSteadyTail moves the clock by hand: late
// activities appear with a created_at in the past, behind newer ones a
// reader has already read, never more than a minute late; new ones keep
// coming at the rate.
func TestLateActivitiesAndTheSteadyTail(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	sim, u := start(t, anthropicsim.Options{Seed: 9, Activities: 3000, Span: time.Hour, Start: t0.Add(-time.Hour), Rate: 2,
		LateFraction: 0.2, Now: clk.Now})
	// What exists and what is visible, by index, agree with VisibleAt.
	first := sim.Truth()
	if got := walk(t, http.DefaultClient, u, url.Values{"limit": {"500"}}, "after_id", ""); !slices.Equal(got, reversed(first.IDs)) {
		t.Fatalf("a full read at t0 found %d activities, the truth %d", len(got), len(first.IDs))
	}
	seen := map[string]bool{}
	for _, id := range first.IDs {
		seen[id] = true
	}
	hidden, late, existed := 0, 0, sim.Count()
	for i := range existed {
		vis := sim.VisibleAt(i)
		lag := vis.Sub(activityTime(t, sim, i))
		if lag < 0 || lag > time.Minute+time.Second {
			t.Fatalf("activity %d visible %s after its created_at", i, lag)
		}
		if lag >= time.Second {
			late++
		}
		if want := !vis.After(clk.Now()); seen[sim.ActivityID(i)] != want {
			t.Fatalf("activity %d (visible at %s) listed %v at %s", i, vis, seen[sim.ActivityID(i)], clk.Now())
		}
		if !seen[sim.ActivityID(i)] {
			hidden++
		}
	}
	if hidden == 0 || late < 450 || late > 750 || first.Late < 450 {
		t.Fatalf("%d hidden at t0, %d late of %d (%d visible late): want some hidden and about a fifth late", hidden, late, sim.Count(), first.Late)
	}

	// A minute and a second later, every activity of the first read is
	// still there, the hidden ones are visible with their old created_at,
	// behind the newest of the first read, and the tail has grown.
	newest := activityTimeOf(t, sim, first.IDs[len(first.IDs)-1])
	clk.Add(time.Minute + time.Second)
	second := sim.Truth()
	now := map[string]bool{}
	for _, id := range second.IDs {
		now[id] = true
	}
	behind := 0
	for i := range sim.Count() {
		id := sim.ActivityID(i)
		switch {
		case seen[id] && !now[id]:
			t.Fatalf("activity %s disappeared", id)
		case i < existed && !seen[id] && !now[id]:
			t.Fatalf("activity %s, hidden at t0, is still hidden more than a minute later", id)
		case i < existed && !seen[id] && activityTime(t, sim, i).Before(newest):
			behind++
		}
	}
	if behind == 0 {
		t.Fatal("no activity appeared behind the newest of the first read")
	}
	if tail := len(second.IDs) - len(first.IDs); tail < 100 || tail > 160 {
		t.Fatalf("%d more activities after 61 s at 2/s", tail)
	}
	// A reader that looks back over the last two minutes finds them.
	from := clk.Now().Add(-2 * time.Minute)
	want := 0
	for i := range sim.Count() {
		if now[sim.ActivityID(i)] && !activityTime(t, sim, i).Before(from) {
			want++
		}
	}
	_, acts := list(t, http.DefaultClient, u, url.Values{"created_at.gte": {from.Format(time.RFC3339)}, "limit": {"5000"}})
	if len(acts) != want || want < 150 {
		t.Fatalf("%d activities in the last two minutes, want %d", len(acts), want)
	}
}

func activityTime(t testing.TB, sim *anthropicsim.Server, i int) time.Time {
	t.Helper()
	return activityTimeOf(t, sim, sim.ActivityID(i), i)
}

// activityTimeOf reads created_at from the activity with id (of index i
// when given, else searched).
func activityTimeOf(t testing.TB, sim *anthropicsim.Server, id string, hint ...int) time.Time {
	t.Helper()
	i := -1
	if len(hint) > 0 {
		i = hint[0]
	} else {
		for j := range sim.Count() {
			if sim.ActivityID(j) == id {
				i = j
				break
			}
		}
	}
	b := sim.Activity(i)
	k := bytes.Index(b, []byte(`"created_at":"`)) + len(`"created_at":"`)
	at, err := time.Parse(time.RFC3339, string(b[k:k+len("2026-07-09T12:00:00Z")]))
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// TestDeterminism: the same seed serves the same bytes; another seed
// other ones.
func TestDeterminism(t *testing.T) {
	o := anthropicsim.Options{Seed: 10, Activities: 400, Span: time.Hour, LateFraction: 0.1}
	read := func(o anthropicsim.Options) ([]byte, http.Header) {
		_, u := start(t, o)
		_, h, b := get(t, http.DefaultClient, u, url.Values{"limit": {"400"}, "order": {"asc"}})
		return b, h
	}
	a, ha := read(o)
	b, hb := read(o)
	if !bytes.Equal(a, b) || ha.Get("request-id") != hb.Get("request-id") {
		t.Fatal("the same seed served other bytes")
	}
	o.Seed = 11
	if c, _ := read(o); bytes.Equal(a, c) {
		t.Fatal("another seed served the same bytes")
	}
	// A late fraction changes when activities show, not what they are.
	x := anthropicsim.New(anthropicsim.Options{Seed: 10, Activities: 400, Span: time.Hour, Now: sourcetest.NewClock(t0).Now})
	y := anthropicsim.New(anthropicsim.Options{Seed: 10, Activities: 400, Span: time.Hour, Now: sourcetest.NewClock(t0).Now, LateFraction: 0.5})
	for i := range 400 {
		if !bytes.Equal(x.Activity(i), y.Activity(i)) {
			t.Fatalf("activity %d differs with a late fraction", i)
		}
	}
}
