package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/auditrelay/auditrelay/pipeline"
)

// typed returns a window of events of the given types, ids e0, e1, ...
func typed(types ...string) pipeline.Window {
	var w pipeline.Window
	for i, t := range types {
		w.Events = append(w.Events, pipeline.Event{ID: fmt.Sprint("e", i), Type: t, Raw: fmt.Appendf(nil, `{"i":%d}`, i)})
	}
	return w
}

// TestAcceptRoutesPerSink: each sink takes what its accept section says,
// from the same window; a sink that takes nothing of a window still
// commits it, and the cursor moves.
func TestAcceptRoutesPerSink(t *testing.T) {
	w := newWorld(typed("login.failed", "auditrelay.alert", "api_key.created"), typed("login.failed"))
	alerts := &committer{}
	w.sinks["alerts"] = alerts
	sp := spec([]string{"all", "alerts", "no_alerts"})
	sp.Sinks[1].Accept = pipeline.Accept{Types: []string{"auditrelay.*"}}
	sp.Sinks[2].Accept = pipeline.Accept{ExcludeTypes: []string{"auditrelay.alert"}}
	if err := run(t, w, sp, nil); err != nil {
		t.Fatal(err)
	}
	if got := w.sink("all").received(); len(got) != 4 {
		t.Errorf("all took %q, want every event", got)
	}
	if got := alerts.received(); !slices.Equal(got, []string{`{"i":1}`}) {
		t.Errorf("alerts took %q, want the alert alone", got)
	}
	if alerts.commits != 2 {
		t.Errorf("alerts committed %d windows, want 2 (one without events for it)", alerts.commits)
	}
	if got := w.sink("no_alerts").received(); len(got) != 3 || slices.Contains(got, `{"i":1}`) {
		t.Errorf("no_alerts took %q, want all but the alert", got)
	}
	if c := w.store.cursor(); c != "w1" {
		t.Errorf("cursor %q, want w1", c)
	}
}

func TestAcceptValidate(t *testing.T) {
	a := pipeline.Accept{Types: []string{"ok.*", "[bad"}, ExcludeTypes: []string{""}}
	err := a.Validate()
	if err == nil {
		t.Fatal("no error for a malformed pattern and an empty one")
	}
	for _, key := range []string{"types[1]", "exclude_types[0]"} {
		if !containsKey(err, key) {
			t.Errorf("%v does not name %s", err, key)
		}
	}
}

func containsKey(err error, key string) bool {
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		if len(e.Error()) >= len(key) && e.Error()[:len(key)] == key {
			return true
		}
	}
	return false
}

// windowCounter is a WindowTransform that appends, after every event, an
// event naming how many events of the source it has seen before it in
// committed windows and this one: state that must move with the cursor.
type windowCounter struct {
	lifecycle
	mu        sync.Mutex
	committed map[string]int
	pending   map[string]int
	calls     [][]int // batch sizes of each ProcessWindow
	order     *journal
}

func (c *windowCounter) Process(context.Context, pipeline.Batch) (pipeline.Batch, error) {
	return pipeline.Batch{}, errors.New("the engine must call ProcessWindow")
}

func (c *windowCounter) ProcessWindow(_ context.Context, source string, bs []pipeline.Batch) ([]pipeline.Batch, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.committed[source]
	var sizes []int
	out := make([]pipeline.Batch, len(bs))
	for i, b := range bs {
		sizes = append(sizes, len(b.Events))
		var evs []pipeline.Event
		for _, ev := range b.Events {
			n++
			evs = append(evs, ev, pipeline.Event{ID: ev.ID + "+", Type: "count", Raw: fmt.Appendf(nil, `{"n":%d}`, n)})
		}
		out[i] = pipeline.Batch{Source: b.Source, Events: evs}
	}
	c.calls = append(c.calls, sizes)
	c.pending[source] = n
	return out, nil
}

func (c *windowCounter) CommitWindow(_ context.Context, source string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.order.add("transform commit")
	c.committed[source] = c.pending[source]
	return nil
}

type orderStore struct {
	*memStore
	order *journal
}

func (s orderStore) Save(ctx context.Context, k string, v []byte) error {
	s.order.add("cursor save " + string(v))
	return s.memStore.Save(ctx, k, v)
}

// TestWindowTransform: a WindowTransform gets each window whole, its
// batches in order, its inserted events reach the sinks in place, and its
// state is committed before the cursor, never for a window given up.
func TestWindowTransform(t *testing.T) {
	order := &journal{}
	src := &listSource{windows: []pipeline.Window{typed("a", "b", "c"), typed("d", "e")}, size: 2}
	wc := &windowCounter{committed: map[string]int{}, pending: map[string]int{}, order: order}
	out := &sink{}
	fails := 1
	flaky := &committer{failCommit: func() error {
		if fails > 0 {
			fails--
			return pipeline.Permanent(errors.New("refused"))
		}
		return nil
	}}
	store := orderStore{&memStore{m: map[string][]byte{}}, order}
	p := pipeline.Assemble(pipeline.Parts{
		Sources:    map[string]pipeline.Source{"acme": src},
		Transforms: []pipeline.Transform{wc},
		Sinks:      map[string]pipeline.Consumer{"out": out, "flaky": flaky},
		Store:      store,
	})
	// The first run gives the first window up (a sink refuses it for
	// good): nothing of it may be committed.
	if err := p.Run(context.Background(), pipeline.RunOptions{Once: true}); err == nil {
		t.Fatal("the run succeeded though a sink refused its commit")
	}
	if got := order.list(); len(got) != 0 {
		t.Fatalf("after a window given up: %q, want no commit at all", got)
	}
	if err := p.Run(context.Background(), pipeline.RunOptions{Once: true}); err != nil {
		t.Fatal(err)
	}
	want := []string{"transform commit", "cursor save w0", "transform commit", "cursor save w1"}
	if got := order.list(); !slices.Equal(got, want) {
		t.Errorf("order %q, want %q", got, want)
	}
	if want := [][]int{{2, 1}, {2, 1}, {2}}; !slices.EqualFunc(wc.calls, want, slices.Equal) {
		t.Errorf("ProcessWindow saw batches %v, want %v (each window whole, in order)", wc.calls, want)
	}
	// The replayed first window counts from the committed state (0), not
	// from the attempt given up.
	got := out.received()
	wantOut := []string{`{"i":0}`, `{"n":1}`, `{"i":1}`, `{"n":2}`, `{"i":2}`, `{"n":3}`, `{"i":0}`, `{"n":4}`, `{"i":1}`, `{"n":5}`}
	if !slices.Equal(got[len(got)-len(wantOut):], wantOut) {
		t.Errorf("sink got %q, want it to end with %q", got, wantOut)
	}
}
