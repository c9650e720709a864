package anthropicsim

import (
	"math"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
)

// newTimeline spreads the activities over time (see simkit.Timeline), its
// busy and quiet periods drawn from seed. The order of the indexes is the
// API's order: by created_at, ties broken by id (ids sort like their
// indexes, see appendID).
func newTimeline(seed uint64, n, startNs, spanNs int64, rate float64) simkit.Timeline {
	r := simkit.NewRNG(seed)
	amp := 0.4 + 0.4*r.Float()
	cycles := r.Between(2, 7)
	phase := 2 * math.Pi * r.Float()
	return simkit.NewTimeline(n, startNs, spanNs, rate, amp, cycles, phase)
}
