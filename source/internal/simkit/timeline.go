package simkit

import (
	"math"
	"sort"
)

// Timeline maps a record's index to its instant (Unix nanoseconds).
// Instants do not decrease with the index, so "which indexes fall in a
// time range" is a binary search and nothing is stored per record.
//
// The n historical records follow a smooth, seeded warp of an even spread
// over [start, start+span): x + amp*(sin(f*x+p)-sin(p))/f, whose
// derivative 1+amp*cos(..) stays above 1-amp > 0, so the density varies
// (busy and quiet periods) while the order is kept. Record n+j, the
// steady tail, is at start + span + j/rate seconds.
type Timeline struct {
	n, startNs, spanNs int64
	rate               float64
	amp, freq, phase   float64
	sinPhase           float64
}

// NewTimeline spreads n records over span from start, then rate a second.
// amp (in [0, 1)) is how far the density strays from even, cycles the
// number of busy periods over the span, phase (radians) where they fall:
// a simulator draws them from its seed.
func NewTimeline(n, startNs, spanNs int64, rate, amp float64, cycles int, phase float64) Timeline {
	return Timeline{n: n, startNs: startNs, spanNs: spanNs, rate: rate,
		amp: amp, freq: 2 * math.Pi * float64(cycles), phase: phase, sinPhase: math.Sin(phase)}
}

// Instant is record i's instant.
func (t *Timeline) Instant(i int64) int64 {
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

// Second is record i's instant in whole Unix seconds, floored: the time
// the APIs write.
func (t *Timeline) Second(i int64) int64 { return floorDiv(t.Instant(i), 1e9) }

// Count is the number of records whose instant is not after now.
func (t *Timeline) Count(now int64) int64 {
	end := t.startNs + t.spanNs
	if now < end || t.rate <= 0 {
		return int64(sort.Search(int(t.n), func(i int) bool { return t.Instant(int64(i)) > now }))
	}
	j := int64(float64(now-end) * t.rate / 1e9)
	for j > 0 && t.Instant(t.n+j) > now {
		j--
	}
	for t.Instant(t.n+j+1) <= now {
		j++
	}
	return t.n + j + 1
}

// FirstFrom returns the first index in [0, hi) whose Second is at or
// after sec, or hi.
func (t *Timeline) FirstFrom(sec, hi int64) int64 {
	return int64(sort.Search(int(hi), func(i int) bool { return t.Second(int64(i)) >= sec }))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
