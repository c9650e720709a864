package anthropicsim

import (
	"math"
	"sort"
)

// timeline maps an activity's index to its instant (Unix nanoseconds).
// Instants do not decrease with the index, so "which indexes fall in a time
// range" is a binary search and nothing is stored per activity. The order
// of the indexes is the API's order: by created_at, ties broken by id
// (ids sort like their indexes, see appendID).
//
// The n historical activities follow a smooth, seeded warp of an even
// spread over [start, start+span): x + amp*(sin(f*x+p)-sin(p))/f, whose
// derivative 1+amp*cos(..) stays above 1-amp > 0, so the density varies
// (busy and quiet periods) while the order is kept. Activity n+j, the
// steady tail, is at start + span + j/rate seconds.
type timeline struct {
	n, startNs, spanNs int64
	rate               float64
	amp, freq, phase   float64
	sinPhase           float64
}

func newTimeline(seed uint64, n, startNs, spanNs int64, rate float64) timeline {
	r := newRNG(seed)
	t := timeline{n: n, startNs: startNs, spanNs: spanNs, rate: rate}
	t.amp = 0.4 + 0.4*r.float()
	t.freq = 2 * math.Pi * float64(r.between(2, 7))
	t.phase = 2 * math.Pi * r.float()
	t.sinPhase = math.Sin(t.phase)
	return t
}

func (t *timeline) instant(i int64) int64 {
	if i < t.n {
		if t.spanNs <= 0 {
			return t.startNs
		}
		x := float64(i) / float64(t.n)
		w := x + t.amp*(math.Sin(t.freq*x+t.phase)-t.sinPhase)/t.freq
		off := min(max(int64(w*float64(t.spanNs)), 0), t.spanNs-1)
		return t.startNs + off
	}
	return t.startNs + t.spanNs + int64(float64(i-t.n)*1e9/t.rate)
}

// second is the activity's created_at, in whole Unix seconds (the API
// writes seconds).
func (t *timeline) second(i int64) int64 { return floorDiv(t.instant(i), 1e9) }

// count is the number of activities whose instant is not after now: those
// that exist, visible or not yet.
func (t *timeline) count(now int64) int64 {
	end := t.startNs + t.spanNs
	if now < end || t.rate <= 0 {
		return int64(sort.Search(int(t.n), func(i int) bool { return t.instant(int64(i)) > now }))
	}
	j := int64(float64(now-end) * t.rate / 1e9)
	for j > 0 && t.instant(t.n+j) > now {
		j--
	}
	for t.instant(t.n+j+1) <= now {
		j++
	}
	return t.n + j + 1
}

// firstFrom returns the first index in [0, hi) whose created_at is at or
// after sec (Unix seconds), or hi.
func (t *timeline) firstFrom(sec, hi int64) int64 {
	return int64(sort.Search(int(hi), func(i int) bool { return t.second(int64(i)) >= sec }))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
