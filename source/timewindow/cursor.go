package timewindow

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Cursor is what a source saves after each window: the window's end and the
// ids it delivered that a later window's overlap will read again. Its JSON
// is the checkpoint format of the audit-log source since its first release.
type Cursor struct {
	V int `json:"v"`
	// Time is the end of the last committed window (unix seconds,
	// exclusive): every event with an earlier time that was visible then
	// has been delivered.
	Time int64 `json:"time"`
	// Seen maps ids delivered with a time >= Time - overlap to their time,
	// so that re-reading the overlap delivers nothing twice.
	Seen map[string]int64 `json:"seen"`
	// FetchedAt is when the fetch of the last committed window began (unix
	// seconds, the API's clock). When it is later than Time + overlap +
	// settle, every event of the overlap that was going to become visible
	// within overlap + settle was already visible then, so the next window
	// need not re-read the overlap (a back-fill far in the past). Cursors
	// without it re-read the overlap.
	FetchedAt int64 `json:"fetched_at,omitempty"`

	initial bool // no saved cursor: the first window starts at Time, no overlap
}

// decodeCursor reads a saved cursor, or starts at start when there is none.
func decodeCursor(raw []byte, start time.Time) (Cursor, error) {
	if raw == nil {
		return Cursor{V: 1, Time: start.Unix(), Seen: map[string]int64{}, initial: true}, nil
	}
	var c Cursor
	if err := json.Unmarshal(raw, &c); err != nil || c.V != 1 {
		return Cursor{}, fmt.Errorf("the checkpoint is unreadable (%v); move it away to start from start_at", err)
	}
	if c.Seen == nil {
		c.Seen = map[string]int64{}
	}
	return c, nil
}

// part is a stretch [lo, hi) of time read completely: its pages, as
// fetched (newest first).
type part struct {
	lo, hi    int64
	pages     [][]pipeline.Event
	fetchedAt int64 // the API's clock when the fetch of the part began
	requests  int
	span      pipeline.Span // the window span its requests ran in, or nil
}

// count returns the events of pages.
func count(pages [][]pipeline.Event) int {
	n := 0
	for _, p := range pages {
		n += len(p)
	}
	return n
}

// finish orders the parts of one window oldest first, drops what cur has
// seen (and repeats within the window), and returns the window and the
// cursor that holds once it is delivered. The parts are consecutive, oldest
// first.
func finish(parts []part, cur Cursor, overlap int64) (pipeline.Window, Cursor) {
	lo, hi := parts[0].lo, parts[len(parts)-1].hi
	fetchedAt := int64(math.MaxInt64)
	n, requests := 0, 0
	for _, p := range parts {
		n += count(p.pages)
		requests += p.requests
		fetchedAt = min(fetchedAt, p.fetchedAt)
	}
	all := make([]pipeline.Event, 0, n)
	for _, p := range parts {
		// Oldest first: the API pages newest first; a stable sort by
		// time keeps the API's order among events of one second.
		for i := len(p.pages) - 1; i >= 0; i-- {
			for j := len(p.pages[i]) - 1; j >= 0; j-- {
				all = append(all, p.pages[i][j])
			}
		}
	}
	slices.SortStableFunc(all, func(a, b pipeline.Event) int { return a.Time.Compare(b.Time) })

	overlapStart := hi - overlap
	next := Cursor{V: 1, Time: hi, FetchedAt: fetchedAt, Seen: make(map[string]int64)}
	for id, t := range cur.Seen {
		if t >= overlapStart {
			next.Seen[id] = t
		}
	}
	inWindow := make(map[string]struct{}, len(all))
	out := all[:0]
	for _, ev := range all {
		if _, dup := inWindow[ev.ID]; dup {
			continue
		}
		inWindow[ev.ID] = struct{}{}
		if t := ev.Time.Unix(); t >= overlapStart {
			next.Seen[ev.ID] = t
		}
		if _, seen := cur.Seen[ev.ID]; seen {
			continue
		}
		out = append(out, ev)
	}
	w := pipeline.Window{Events: out, Start: time.Unix(lo, 0).UTC(), End: time.Unix(hi, 0).UTC(), Fetched: n, Requests: requests,
		Span: parts[0].span}
	return w, next
}
