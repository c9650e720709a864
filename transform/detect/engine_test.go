package detect

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/checkpoint"
	"github.com/auditrelay/auditrelay/transform/ocsf"
)

// windows is a source that emits its windows with cursors 0, 1, ...,
// resuming after its cursor.
type windows struct{ ws [][]pipeline.Event }

func (windows) Start(context.Context) error    { return nil }
func (windows) Shutdown(context.Context) error { return nil }
func (s windows) Run(ctx context.Context, h pipeline.SourceHost) error {
	from := 0
	if h.Cursor != nil {
		fmt.Sscan(string(h.Cursor), &from)
		from++
	}
	for i := from; i < len(s.ws); i++ {
		if err := h.Emit(ctx, pipeline.Window{Events: s.ws[i], Cursor: fmt.Append(nil, i)}); err != nil {
			return err
		}
	}
	return nil
}

type recorder struct {
	mu  sync.Mutex
	evs []pipeline.Event
}

func (r *recorder) Consume(_ context.Context, b pipeline.Batch) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range b.Events {
		ev.Raw = append([]byte(nil), ev.Raw...)
		r.evs = append(r.evs, ev)
	}
	return nil
}

// TestThroughTheEngine: detect before ocsf, two sinks: the alert sink
// (accept: auditrelay.alert) receives the alert alone, untouched by the
// OCSF mapping; the archive receives the mapped events and the alert right
// after its evidence. The burst spans two windows and a restart.
func TestThroughTheEngine(t *testing.T) {
	evs := failures(t, 5)
	noise := openaiCorpus(t, 50)
	for i := range noise {
		noise[i].Time = simStart.Add(-time.Hour)
	}
	ws := [][]pipeline.Event{append(noise[:20:20], evs[:3]...), append(evs[3:], noise[20:]...)}
	dir := t.TempDir()
	store := checkpoint.NewFile(dir)
	c := DefaultConfig()
	c.Packs, c.Rules = nil, []Rule{packRule(t, "openai-login-failures-burst")}
	alerts, archive := &recorder{}, &recorder{}
	runOnce := func(src windows) {
		d, err := New(c, dir+"/detect", nil)
		if err != nil {
			t.Fatal(err)
		}
		p := pipeline.Assemble(pipeline.Parts{
			Sources:    map[string]pipeline.Source{"acme": src},
			Transforms: []pipeline.Transform{d, ocsf.New(&ocsf.Config{})},
			Sinks:      map[string]pipeline.Consumer{"alerts": alerts, "archive": archive},
			Accept:     map[string]pipeline.Accept{"alerts": {Types: []string{AlertType}}},
			Store:      store,
		})
		if err := p.Run(context.Background(), pipeline.RunOptions{Once: true}); err != nil {
			t.Fatal(err)
		}
	}
	runOnce(windows{ws[:1]})
	if len(alerts.evs) != 0 {
		t.Fatalf("alerts after the first window: %d", len(alerts.evs))
	}
	runOnce(windows{ws}) // a restart: resumes after window 0
	if len(alerts.evs) != 1 {
		t.Fatalf("%d alerts, want 1", len(alerts.evs))
	}
	var a Alert
	if err := json.Unmarshal(alerts.evs[0].Raw, &a); err != nil || a.Rule != "openai-login-failures-burst" || a.Type != AlertType {
		t.Fatalf("alert %s: %v", alerts.evs[0].Raw, err)
	}
	for i, ev := range archive.evs {
		if ev.Type == AlertType {
			if archive.evs[i-1].ID != "f4" || string(ev.Raw) != string(alerts.evs[0].Raw) {
				t.Errorf("archive: alert after %s, raw %s", archive.evs[i-1].ID, ev.Raw)
			}
			continue
		}
		if ev.Schema != "ocsf" || !strings.Contains(string(ev.Raw), `"class_uid"`) {
			t.Errorf("archive: event %s of schema %s not mapped", ev.ID, ev.Schema)
		}
	}
	if len(archive.evs) != 56 {
		t.Errorf("archive took %d events, want 55 and the alert", len(archive.evs))
	}
}
