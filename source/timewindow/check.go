package timewindow

import (
	"fmt"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// InWindow returns the check a walk of [lo, hi) makes of each record the
// API returned: a record outside the range it asked for, or one its
// vendor's reader could not index (ev.Invalid), breaks the planner's
// promise that a window holds what its range holds. With deadLetter false
// the check fails, and the source stops at the record; with deadLetter
// true the record is marked invalid and placed at the window's start, so
// that the window it came in takes it to the dead-letter sink.
//
// noun names the vendor's records ("activity"), and field the member that
// times them (name and value: "created_at 2026-01-02T03:04:05Z").
func InWindow(lo, hi int64, deadLetter bool, noun string, field func(ev *pipeline.Event) string) func(ev *pipeline.Event) error {
	return func(ev *pipeline.Event) error {
		t := ev.Time.Unix()
		if ev.Invalid == "" && t >= lo && t < hi {
			return nil
		}
		why := ev.Invalid
		if why == "" {
			why = fmt.Sprintf("%s outside the requested window [%s, %s)", field(ev), fmtUnix(lo), fmtUnix(hi))
		}
		if !deadLetter {
			return fmt.Errorf("%s %s: %s", noun, ev.ID, why)
		}
		ev.Invalid = why
		ev.Time = time.Unix(lo, 0).UTC()
		return nil
	}
}
