package openaisim

import (
	"math"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
)

// newTimeline spreads n records over time (see simkit.Timeline), its busy
// and quiet periods drawn from seed.
func newTimeline(seed uint64, n, startNs, spanNs int64, rate float64) simkit.Timeline {
	r := newRNG(seed)
	amp := 0.5 + 0.3*r.Float()
	cycles := r.Between(2, 9)
	phase := 2 * math.Pi * r.Float()
	return simkit.NewTimeline(n, startNs, spanNs, rate, amp, cycles, phase)
}
