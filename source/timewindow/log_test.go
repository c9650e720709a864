package timewindow

import (
	"context"
	"log/slog"
	"testing"
)

// tlogHandler writes a planner's log to the test's log, shown when a test
// fails (or with -v): the stretches it read and cut.
type tlogHandler struct{ t *testing.T }

func (h tlogHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h tlogHandler) Handle(_ context.Context, r slog.Record) error {
	s := r.Time.Format("05.000") + " " + r.Message
	r.Attrs(func(a slog.Attr) bool { s += " " + a.String(); return true })
	h.t.Log(s)
	return nil
}
func (h tlogHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h tlogHandler) WithGroup(string) slog.Handler      { return h }
