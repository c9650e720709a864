package main

import (
	"context"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/auditrelay/auditrelay/pipeline"
)

// screenSinkType is the sink type of the demo's table. Only the demo's
// registry has it: a deployment writes readable lines with the file sink's
// text format, which never cuts a cell.
const screenSinkType = "demo_screen"

// The table's column widths. With two spaces between columns and the id
// last (35 characters for an audit log, 36 for a compliance record's UUID,
// whose types are shorter), a row is at most 120 columns wide. Longer
// cells are cut with an ellipsis: the whole event is in the archive or the
// topic.
const (
	timeWidth  = 20 // 2006-01-02T15:04:05Z
	actorWidth = 30
)

// screenLayout is what the table's columns are for one vendor: the names
// of the time and id columns, and the width of the type's.
type screenLayout struct {
	at, id    string
	typeWidth int
}

var (
	openaiScreen  = screenLayout{at: "effective_at", id: "id", typeWidth: 29}
	chatgptScreen = screenLayout{at: "timestamp", id: "event_id", typeWidth: 26} // CHATGPT_PLUGIN_SPREADSHEET
	// An activity's id is 33 characters; its longer types are cut.
	anthropicScreen = screenLayout{at: "created_at", id: "id", typeWidth: 31}
)

// screenConfig is the (empty) config of the demo's table.
type screenConfig struct{}

func (*screenConfig) Validate() error { return nil }

var _ pipeline.Config = (*screenConfig)(nil)

// screenFactory returns the factory of the demo's table, printing to w in
// layout l.
func screenFactory(w io.Writer, l screenLayout) pipeline.SinkFactory {
	return pipeline.NewSinkFactory(screenSinkType, func() *screenConfig { return &screenConfig{} },
		func(pipeline.Settings, *screenConfig) (pipeline.Sink, error) { return &screen{w: w, layout: l}, nil })
}

// screen prints one row per event: what the demo shows while it runs. It
// prints what it is handed, so a window written again after a failure
// shows again; the counts the demo reports are the committed ones.
type screen struct {
	mu     sync.Mutex
	w      io.Writer
	layout screenLayout // the zero value: openaiScreen
}

var _ pipeline.Sink = (*screen)(nil)

func (s *screen) Start(context.Context) error    { return nil }
func (s *screen) Shutdown(context.Context) error { return nil }

// Consume prints the batch. A failed write is ignored: a closed terminal
// must not hold back the sinks the demo is about.
func (s *screen) Consume(_ context.Context, b pipeline.Batch) error {
	var sb strings.Builder
	l := s.layout
	if l.typeWidth == 0 {
		l = openaiScreen
	}
	for i := range b.Events {
		ev := &b.Events[i]
		// A person's e-mail, else the actor's id; for a compliance
		// record, an API key's redacted id or an agent's name; for an
		// activity, a key's or a device's id, system:SERVICE, anthropic.
		sb.WriteString(l.row(ev.Time.UTC().Format(time.RFC3339), ev.Type, eventActor(ev), ev.ID))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	io.WriteString(s.w, sb.String()) //nolint:errcheck // see above
	return nil
}

// header is the table's first line.
func (l screenLayout) header() string { return l.row(l.at, "type", "actor", l.id) }

func (l screenLayout) row(at, typ, actor, id string) string {
	return cell(at, timeWidth) + "  " + cell(typ, l.typeWidth) + "  " + cell(actor, actorWidth) + "  " + id + "\n"
}

// cell pads s to width characters, or cuts it to width with an ellipsis
// as its last character. An empty s shows as "-".
func cell(s string, width int) string {
	if s == "" {
		s = "-"
	}
	c := clip(s, width)
	return c + strings.Repeat(" ", width-utf8.RuneCountInString(c))
}

// clip cuts s to at most width characters, the last being an ellipsis
// when something was cut.
func clip(s string, width int) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:width-1]) + "…"
}
