package timewindow

import (
	"errors"
	"fmt"
	"testing"

	"github.com/auditrelay/auditrelay/pipeline"
)

// testSpan is a window span that records or not, and counts its ends.
type testSpan struct {
	pipeline.NopSpan
	recording bool
	ends      int
}

func (s *testSpan) Recording() bool { return s.recording }
func (s *testSpan) End(error)       { s.ends++ }

// partOf is a part of n events, one page, starting at second lo.
func partOf(lo int64, n int, span *testSpan) part {
	page := make([]pipeline.Event, n)
	for i := range page {
		page[i].ID = fmt.Sprint(lo, "-", i)
	}
	p := part{lo: lo, hi: lo + 1, pages: [][]pipeline.Event{page}}
	if span != nil {
		p.span = span
	}
	return p
}

// TestGatherWaitingParts: the parts waiting when the engine asks go as one
// window up to max events, in order; a part that would pass max starts the
// next window; a traced part is a window of its own; the spans of parts
// merged into another's window are ended.
func TestGatherWaitingParts(t *testing.T) {
	in := make(chan part, 16)
	merged := &testSpan{}
	traced := &testSpan{recording: true}
	sizes := []int{300, 300, 300, 4500, 200, 100, 100}
	for i, n := range sizes {
		var s *testSpan
		switch i {
		case 1:
			s = merged
		case 5:
			s = traced
		}
		in <- partOf(int64(i), n, s)
	}
	g := gatherer{in: in, max: 5000}
	var got [][]int64
	for range 4 {
		var los []int64
		for _, p := range g.next() {
			los = append(los, p.lo)
		}
		got = append(got, los)
	}
	// Nothing waits now: the next part read goes alone.
	in <- partOf(7, 10, nil)
	close(in)
	last := g.next()
	if len(last) != 1 || last[0].lo != 7 {
		t.Errorf("after the backlog: %v, want the one part read", last)
	}
	if p := g.next(); p != nil {
		t.Errorf("after close: %v, want nil", p)
	}
	want := [][]int64{{0, 1, 2}, {3, 4}, {5}, {6}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("windows of parts %v, want %v", got, want)
	}
	if merged.ends != 1 || traced.ends != 0 {
		t.Errorf("span ends: merged %d (want 1), traced %d (want 0: the engine ends it)", merged.ends, traced.ends)
	}
}

// TestGatherDrainEndsSpans: after a failed emit, the parts left (one held
// back, the others still in the channel) end their spans with the error.
func TestGatherDrainEndsSpans(t *testing.T) {
	in := make(chan part, 4)
	spans := []*testSpan{{recording: true}, {recording: true}, {}}
	for i, s := range spans {
		in <- partOf(int64(i), 10, s)
	}
	close(in)
	g := gatherer{in: in, max: 5000}
	if first := g.next(); len(first) != 1 { // a traced part goes alone, the next one is held
		t.Fatalf("first window: %d parts, want 1", len(first))
	}
	g.drain(errors.New("engine gone"))
	for i, s := range spans[1:] {
		if s.ends != 1 {
			t.Errorf("span %d ended %d times, want once", i+1, s.ends)
		}
	}
}
