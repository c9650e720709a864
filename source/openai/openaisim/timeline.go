package openaisim

import (
	"math"
	"sort"
)

// timeline maps a record index to its instant (Unix nanoseconds). Instants
// are non-decreasing in the index, so "which indexes fall in a time range"
// is a binary search and nothing is stored per record.
//
// The n historical records follow a smooth, seeded warp of an even spread
// over [start, start+span): x + amp*(sin(f*x+p)-sin(p))/f, whose derivative
// 1+amp*cos(..) stays above 1-amp > 0, so the density varies (busy and quiet
// periods) while the order is kept. Record n+j, the steady tail, is at
// start + span + j/rate seconds.
type timeline struct {
	n, startNs, spanNs int64
	rate               float64
	amp, freq, phase   float64
	sinPhase           float64
}

func newTimeline(seed uint64, n, startNs, spanNs int64, rate float64) timeline {
	r := newRNG(seed)
	t := timeline{n: n, startNs: startNs, spanNs: spanNs, rate: rate}
	t.amp = 0.5 + 0.3*r.float()
	t.freq = 2 * math.Pi * float64(r.between(2, 9))
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
		off := int64(w * float64(t.spanNs))
		if off < 0 {
			off = 0
		}
		if off >= t.spanNs {
			off = t.spanNs - 1
		}
		return t.startNs + off
	}
	return t.startNs + t.spanNs + int64(float64(i-t.n)*1e9/t.rate)
}

// seconds is the record's effective_at (whole Unix seconds, floored).
func (t *timeline) seconds(i int64) int64 { return floorDiv(t.instant(i), 1e9) }

// count is the number of records whose instant is not after now.
func (t *timeline) count(now int64) int64 {
	end := t.startNs + t.spanNs
	if now >= end {
		if t.rate <= 0 {
			return t.n
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
	return int64(sort.Search(int(t.n), func(i int) bool { return t.instant(int64(i)) > now }))
}

// firstAtOrAfter returns the first index in [0, hi) whose effective_at is >=
// sec, or hi.
func (t *timeline) firstAtOrAfter(sec, hi int64) int64 {
	return int64(sort.Search(int(hi), func(i int) bool { return t.seconds(int64(i)) >= sec }))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
