package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// journal records lifecycle calls across components, in order.
type journal struct {
	mu    sync.Mutex
	calls []string
}

func (j *journal) add(s string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.calls = append(j.calls, s)
}

func (j *journal) list() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.calls)
}

type lifecycle struct {
	name string
	j    *journal
}

func (l lifecycle) Start(context.Context) error {
	if l.j != nil {
		l.j.add("start " + l.name)
	}
	return nil
}

func (l lifecycle) Shutdown(context.Context) error {
	if l.j != nil {
		l.j.add("stop " + l.name)
	}
	return nil
}

// listSource emits its windows in order, each with the cursor "w<i>", and
// resumes after the window its cursor names. After the windows it returns
// err (nil: it has caught up).
type listSource struct {
	lifecycle
	windows []pipeline.Window
	size    int // events per batch; 0: the default
	err     error
}

func (s *listSource) BatchSize() int { return s.size }

func (s *listSource) Run(ctx context.Context, host pipeline.SourceHost) error {
	from := 0
	if c := string(host.Cursor); c != "" {
		n, _ := strconv.Atoi(strings.TrimPrefix(c, "w"))
		from = n + 1
	}
	for i := from; i < len(s.windows); i++ {
		w := s.windows[i]
		w.Cursor = fmt.Appendf(nil, "w%d", i)
		if err := host.Emit(ctx, w); err != nil {
			return err
		}
	}
	return s.err
}

// events returns a window of events whose Raw bytes are the given JSON.
func events(raws ...string) pipeline.Window {
	var w pipeline.Window
	for i, r := range raws {
		w.Events = append(w.Events, pipeline.Event{ID: fmt.Sprint(i), Type: "t", Raw: []byte(r)})
	}
	return w
}

// numbered returns a window of n events {"msg":"m<i>"} with ids i.
func numbered(n int) pipeline.Window {
	var w pipeline.Window
	for i := range n {
		w.Events = append(w.Events, pipeline.Event{ID: fmt.Sprint(i), Raw: fmt.Appendf(nil, `{"msg":"m%d"}`, i)})
	}
	return w
}

type memStore struct {
	lifecycle
	mu   sync.Mutex
	m    map[string][]byte
	fail func() error // called by Save; a non-nil error fails it
}

func (s *memStore) Load(_ context.Context, k string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[k], nil
}

func (s *memStore) Save(_ context.Context, k string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		if err := s.fail(); err != nil {
			return err
		}
	}
	s.m[k] = v
	return nil
}

func (s *memStore) cursor() string {
	c, _ := s.Load(context.Background(), "acme")
	return string(c)
}

// upper is a transform that upper-cases the "msg" field of every event.
type upper struct {
	lifecycle
	calls *atomic.Int64
}

func (u upper) Process(_ context.Context, b pipeline.Batch) (pipeline.Batch, error) {
	if u.calls != nil {
		u.calls.Add(1)
	}
	for i := range b.Events {
		obj, err := b.Events[i].Object()
		if err != nil {
			return b, err
		}
		obj["msg"] = strings.ToUpper(fmt.Sprint(obj["msg"]))
		b.Events[i].SetObject(obj)
	}
	return b, nil
}

// dropOdd is a transform that drops the events whose ID is an odd number.
type dropOdd struct{ lifecycle }

func (dropOdd) Process(_ context.Context, b pipeline.Batch) (pipeline.Batch, error) {
	b.Events = slices.DeleteFunc(b.Events, func(e pipeline.Event) bool {
		n, _ := strconv.Atoi(e.ID)
		return n%2 == 1
	})
	return b, nil
}

// sink records what it received and fails as told.
type sink struct {
	lifecycle
	mu      sync.Mutex
	got     []string
	batches int
	fail    func(b pipeline.Batch) error
}

func (s *sink) Consume(_ context.Context, b pipeline.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches++
	if s.fail != nil {
		if err := s.fail(b); err != nil {
			return err
		}
	}
	for _, e := range b.Events {
		s.got = append(s.got, string(e.Raw))
	}
	return nil
}

func (s *sink) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// committer is a sink that keeps what it takes pending until CommitWindow
// (as a transaction would) and drops it on AbortWindow.
type committer struct {
	sink
	pending, durable []string
	commits, aborts  int
	failCommit       func() error
}

func (c *committer) Consume(ctx context.Context, b pipeline.Batch) error {
	n := len(c.sink.received())
	if err := c.sink.Consume(ctx, b); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending = append(c.pending, c.got[n:]...)
	return nil
}

func (c *committer) CommitWindow(context.Context, string, []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.commits++
	if c.failCommit != nil {
		if err := c.failCommit(); err != nil {
			return err
		}
	}
	c.durable = append(c.durable, c.pending...)
	c.pending = nil
	return nil
}

func (c *committer) AbortWindow(context.Context, string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.aborts++
	c.pending = nil
	return nil
}

type cfg struct{}

func (cfg) Validate() error { return nil }

// world builds a registry whose factories hand out the given instances.
type world struct {
	j          *journal
	src        *listSource
	sinks      map[string]pipeline.Sink
	store      *memStore
	upperCalls atomic.Int64
}

func newWorld(windows ...pipeline.Window) *world {
	w := &world{j: &journal{}, sinks: map[string]pipeline.Sink{}}
	w.src = &listSource{lifecycle: lifecycle{"src", w.j}, windows: windows}
	w.store = &memStore{lifecycle: lifecycle{"store", w.j}, m: map[string][]byte{}}
	return w
}

// sink returns the sink named name as a recording sink.
func (w *world) sink(name string) *sink {
	switch s := w.sinks[name].(type) {
	case *sink:
		return s
	case *committer:
		return &s.sink
	}
	return nil
}

func (w *world) registry(t testing.TB) *pipeline.Registry {
	def := func() cfg { return cfg{} }
	r, err := pipeline.NewRegistry(
		pipeline.NewSourceFactory("list", def, func(set pipeline.Settings, _ cfg) (pipeline.Source, error) {
			w.src.name = set.Name
			return w.src, nil
		}),
		pipeline.NewSinkFactory("mem", def, func(set pipeline.Settings, _ cfg) (pipeline.Sink, error) {
			if s, ok := w.sinks[set.Name]; ok {
				switch s := s.(type) {
				case *sink:
					s.lifecycle = lifecycle{set.Name, w.j}
				case *committer:
					s.lifecycle = lifecycle{set.Name, w.j}
				}
				return s, nil
			}
			s := &sink{lifecycle: lifecycle{set.Name, w.j}}
			w.sinks[set.Name] = s
			return s, nil
		}),
		pipeline.NewTransformFactory("upper", def, func(set pipeline.Settings, _ cfg) (pipeline.Transform, error) {
			return upper{lifecycle{set.Name, w.j}, &w.upperCalls}, nil
		}),
		pipeline.NewTransformFactory("dropodd", def, func(set pipeline.Settings, _ cfg) (pipeline.Transform, error) {
			return dropOdd{lifecycle{set.Name, w.j}}, nil
		}),
		pipeline.NewStoreFactory("mem", def, func(pipeline.Settings, cfg, pipeline.StoreHost) (pipeline.CursorStore, error) {
			return w.store, nil
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func spec(sinks []string, transforms ...string) pipeline.Spec {
	sp := pipeline.Spec{
		Sources:      []pipeline.ComponentSpec{{Name: "acme", Type: "list", Config: cfg{}}},
		Checkpoint:   pipeline.ComponentSpec{Name: "checkpoint", Type: "mem", Config: cfg{}},
		DrainTimeout: time.Second,
	}
	for _, s := range sinks {
		sp.Sinks = append(sp.Sinks, pipeline.ComponentSpec{Name: s, Type: "mem", Config: cfg{},
			Retry: pipeline.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, Multiplier: 2}})
	}
	for _, t := range transforms {
		typ := "upper"
		if t == "dropodd" {
			typ = t
		}
		sp.Transforms = append(sp.Transforms, pipeline.ComponentSpec{Name: t, Type: typ, Config: cfg{}})
	}
	return sp
}

func run(t testing.TB, w *world, sp pipeline.Spec, tel pipeline.Telemetry) error {
	t.Helper()
	p, err := pipeline.Build(w.registry(t), sp, nil, tel)
	if err != nil {
		t.Fatal(err)
	}
	return p.Run(context.Background(), pipeline.RunOptions{Once: true})
}

// Example shows the whole contract: a source emits a window, a transform
// changes the events (decoded once, encoded once), every sink receives
// them, and the cursor is saved only after all of them took the window.
func Example() {
	w := newWorld(events(`{"msg":"hello","n":1.50}`, `{"msg":"world","n":2}`))
	p, err := pipeline.Build(w.registry(nil), spec([]string{"a", "b"}, "shout"), nil, nil)
	if err != nil {
		panic(err)
	}
	if err := p.Run(context.Background(), pipeline.RunOptions{Once: true}); err != nil {
		panic(err)
	}
	fmt.Println(w.sink("a").received())
	fmt.Println(w.sink("b").received())
	fmt.Println(w.store.cursor())
	// Output:
	// [{"msg":"HELLO","n":1.50} {"msg":"WORLD","n":2}]
	// [{"msg":"HELLO","n":1.50} {"msg":"WORLD","n":2}]
	// w0
}

func TestLifecycleOrder(t *testing.T) {
	w := newWorld(events(`{}`))
	if err := run(t, w, spec([]string{"a", "b"}, "t1", "t2"), nil); err != nil {
		t.Fatal(err)
	}
	want := []string{"start a", "start b", "start t1", "start t2", "start store", "start acme",
		"stop acme", "stop store", "stop t2", "stop t1", "stop b", "stop a"}
	if got := w.j.list(); !slices.Equal(got, want) {
		t.Fatalf("lifecycle\n got %v\nwant %v", got, want)
	}
}

func TestFanOutNeedsEverySink(t *testing.T) {
	w := newWorld(events(`{"msg":"x"}`))
	w.sinks["b"] = &sink{fail: func(pipeline.Batch) error { return pipeline.Permanent(errors.New("b is broken")) }}
	err := run(t, w, spec([]string{"a", "b"}), nil)
	if err == nil || !strings.Contains(err.Error(), "b is broken") || !strings.Contains(err.Error(), `sink "b"`) {
		t.Fatalf("err = %v", err)
	}
	if c := w.store.cursor(); c != "" {
		t.Fatalf("cursor %q saved although a sink failed", c)
	}
}

type countingTel struct {
	pipeline.NopTelemetry
	retries, dead, filtered atomic.Int64
	mu                      sync.Mutex
	progress                []pipeline.Progress
}

func (c *countingTel) Retried(string, string, time.Duration) { c.retries.Add(1) }
func (c *countingTel) DeadLettered(_ string, n int)          { c.dead.Add(int64(n)) }
func (c *countingTel) EventsFiltered(_ string, n int)        { c.filtered.Add(int64(n)) }
func (c *countingTel) Progress(_ string, p pipeline.Progress) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.progress = append(c.progress, p)
}

func TestRetriesHonourRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(events(`{"msg":"x"}`))
		calls := 0
		var gaps []time.Duration
		last := time.Now()
		w.sinks["a"] = &sink{fail: func(pipeline.Batch) error {
			calls++
			gaps = append(gaps, time.Since(last))
			last = time.Now()
			if calls <= 2 {
				return pipeline.RetryAfter(errors.New("busy"), 40*time.Millisecond)
			}
			return nil
		}}
		sp := spec([]string{"a"})
		sp.Sinks[0].Retry.MaxInterval = time.Second
		tel := &countingTel{}
		if err := run(t, w, sp, tel); err != nil {
			t.Fatal(err)
		}
		if calls != 3 || tel.retries.Load() != 2 || len(w.sink("a").received()) != 1 {
			t.Fatalf("calls %d retries %d got %v", calls, tel.retries.Load(), w.sink("a").received())
		}
		for _, g := range gaps[1:] {
			if g != 40*time.Millisecond {
				t.Fatalf("retried after %v, want the 40ms the sink asked for", g)
			}
		}
	})
}

// checkOnce fails unless got holds every event of want exactly once, in
// order.
func checkOnce(t *testing.T, what string, got []string, want pipeline.Window) {
	t.Helper()
	if len(got) != len(want.Events) {
		t.Fatalf("%s got %d events, want %d", what, len(got), len(want.Events))
	}
	for i := range got {
		if got[i] != string(want.Events[i].Raw) {
			t.Fatalf("%s event %d = %s, want %s", what, i, got[i], want.Events[i].Raw)
		}
	}
}

// TestFailingSinkIsRetriedAlone: a sink that fails takes the window again
// on its own; the sinks that took it are not asked again. A sink without
// CommitWindow is sent the failed batch again; a committer is aborted and
// sent the whole window again.
func TestFailingSinkIsRetriedAlone(t *testing.T) {
	win := numbered(50)
	w := newWorld(win)
	w.src.size = 10
	flaky := 0
	w.sinks["flaky"] = &sink{fail: func(b pipeline.Batch) error {
		if b.Events[0].ID == "20" && flaky < 3 {
			flaky++
			return errors.New("503")
		}
		return nil
	}}
	commitFails := 1
	tx := &committer{failCommit: func() error {
		if commitFails > 0 {
			commitFails--
			return errors.New("fsync failed")
		}
		return nil
	}}
	w.sinks["tx"] = tx
	if err := run(t, w, spec([]string{"healthy", "flaky", "tx"}), nil); err != nil {
		t.Fatal(err)
	}
	checkOnce(t, "healthy", w.sink("healthy").received(), win)
	if n := w.sink("healthy").batches; n != 5 {
		t.Fatalf("healthy sink got %d batches, want 5 (nothing again)", n)
	}
	checkOnce(t, "flaky", w.sink("flaky").received(), win)
	if n := w.sink("flaky").batches; n != 8 {
		t.Fatalf("flaky sink got %d batches, want 5 + 3 retries of the failed one", n)
	}
	checkOnce(t, "tx (durable)", tx.durable, win)
	if tx.commits != 2 || tx.aborts != 1 || tx.batches != 10 {
		t.Fatalf("tx: %d commits, %d aborts, %d batches; want 2, 1, 10 (the window sent again whole)", tx.commits, tx.aborts, tx.batches)
	}
	if w.store.cursor() != "w0" {
		t.Fatalf("cursor %q", w.store.cursor())
	}
}

// TestMaxElapsedGivesUp: a sink that is down for good makes a --once run
// fail within the retry policy's max_elapsed, naming the sink, with the
// cursor unmoved, while the healthy sink holds each event once.
func TestMaxElapsedGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		win := numbered(30)
		w := newWorld(win)
		w.sinks["down"] = &sink{fail: func(pipeline.Batch) error { return errors.New("connection refused") }}
		sp := spec([]string{"healthy", "down"})
		sp.Sinks[1].Retry = pipeline.RetryPolicy{InitialInterval: 500 * time.Millisecond, MaxInterval: 30 * time.Second, Multiplier: 2, MaxElapsed: 5 * time.Second}
		start := time.Now()
		err := run(t, w, sp, nil)
		took := time.Since(start)
		if err == nil || !strings.Contains(err.Error(), `sink "down"`) || !strings.Contains(err.Error(), "max_elapsed") {
			t.Fatalf("err = %v", err)
		}
		if took < 5*time.Second || took > 6*time.Second {
			t.Fatalf("gave up after %v, want just after 5s", took)
		}
		if c := w.store.cursor(); c != "" {
			t.Fatalf("cursor %q saved", c)
		}
		checkOnce(t, "healthy", w.sink("healthy").received(), win)
	})
}

func TestRejectedEventsGoToDeadLetter(t *testing.T) {
	w := newWorld(events(`{"msg":"ok"}`, `{"msg":"too big"}`, `{"msg":"fine"}`))
	w.src.size = 2
	refuse := func(b pipeline.Batch) error {
		for _, ev := range b.Events {
			if strings.Contains(string(ev.Raw), "big") {
				return &pipeline.RejectedError{Sink: "a", Rejected: []pipeline.Rejection{{Event: ev, Reason: "record too large"}}}
			}
		}
		return nil
	}
	w.sinks["a"] = &sink{fail: refuse}
	sp := spec([]string{"a"})
	sp.DeadLetter = &pipeline.ComponentSpec{Name: "dlq", Type: "mem", Config: cfg{}, Retry: pipeline.DefaultRetryPolicy()}
	tel := &countingTel{}
	if err := run(t, w, sp, tel); err != nil {
		t.Fatal(err)
	}
	dl := w.sink("dlq").received()
	if len(dl) != 1 || tel.dead.Load() != 1 {
		t.Fatalf("dead letters %v", dl)
	}
	var entry struct {
		Sink, Reason string
		Event        json.RawMessage
	}
	if err := json.Unmarshal([]byte(dl[0]), &entry); err != nil || entry.Sink != "a" || entry.Reason != "record too large" || string(entry.Event) != `{"msg":"too big"}` {
		t.Fatalf("entry %s (%v)", dl[0], err)
	}
	if w.store.cursor() != "w0" {
		t.Fatal("cursor not saved")
	}

	// Without a dead-letter sink the pipeline stops instead of dropping.
	w2 := newWorld(events(`{"msg":"too big"}`))
	w2.sinks["a"] = &sink{fail: refuse}
	err := run(t, w2, spec([]string{"a"}), nil)
	if err == nil || !pipeline.IsPermanent(err) || !strings.Contains(err.Error(), "no dead_letter sink") {
		t.Fatalf("err = %v", err)
	}
	if c := w2.store.cursor(); c != "" {
		t.Fatal("cursor saved although an event was refused")
	}
}

// TestRejectedThenAbortedIsNotSentAgain: a committer that refuses an event
// and loses its window with it (a transaction aborted) gets the window
// again without the refused event, which reaches the dead letter once.
func TestRejectedThenAbortedIsNotSentAgain(t *testing.T) {
	win := events(`{"msg":"a"}`, `{"msg":"bad"}`, `{"msg":"c"}`)
	w := newWorld(win)
	tx := &committer{}
	tx.fail = func(b pipeline.Batch) error {
		for _, ev := range b.Events {
			if strings.Contains(string(ev.Raw), "bad") {
				return errors.Join(&pipeline.RejectedError{Sink: "tx", Rejected: []pipeline.Rejection{{Event: ev, Reason: "invalid record"}}},
					errors.New("transaction aborted"))
			}
		}
		return nil
	}
	if dl := runIntoTx(t, w, tx); len(dl) != 1 || !strings.Contains(dl[0], "bad") {
		t.Fatalf("dead letters %v", dl)
	}
}

// runIntoTx runs w into the committer tx, named "tx", with a dead-letter
// sink, checks that tx made the events a and c of the window durable, and
// returns the dead letters.
func runIntoTx(t *testing.T, w *world, tx *committer) []string {
	t.Helper()
	w.sinks["tx"] = tx
	sp := spec([]string{"tx"})
	sp.DeadLetter = &pipeline.ComponentSpec{Name: "dlq", Type: "mem", Config: cfg{}, Retry: pipeline.DefaultRetryPolicy()}
	if err := run(t, w, sp, nil); err != nil {
		t.Fatal(err)
	}
	if got := tx.durable; !slices.Equal(got, []string{`{"msg":"a"}`, `{"msg":"c"}`}) {
		t.Fatalf("durable %v", got)
	}
	return w.sink("dlq").received()
}

// TestRejectedAtCommit: a committer that learns only at commit that its
// destination refused an event for good (a mail server's 5xx after DATA)
// returns it in a *RejectedError. Alone, the rest of the window is
// committed: the event goes to the dead letter once, the cursor moves and
// nothing is sent again. Joined with a retryable failure, the window is
// sent again without the event.
func TestRejectedAtCommit(t *testing.T) {
	for _, tc := range []struct {
		name         string
		alsoFailed   bool
		commits      int
		aborts       int
		batchesTaken int
	}{
		{"alone", false, 1, 0, 1},
		{"with a retryable failure", true, 2, 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			win := events(`{"msg":"a"}`, `{"msg":"bad"}`, `{"msg":"c"}`)
			w := newWorld(win)
			tx := &committer{}
			tx.failCommit = func() error {
				i := slices.Index(tx.pending, `{"msg":"bad"}`)
				if i < 0 {
					return nil
				}
				rej := &pipeline.RejectedError{Sink: "tx", Rejected: []pipeline.Rejection{{Event: win.Events[1], Reason: "554 refused"}}}
				if tc.alsoFailed {
					return errors.Join(rej, errors.New("421 connection lost"))
				}
				// The others are durable: only the refused one is not.
				tx.durable = append(tx.durable, slices.Delete(slices.Clone(tx.pending), i, i+1)...)
				tx.pending = nil
				return rej
			}
			if dl := runIntoTx(t, w, tx); len(dl) != 1 || !strings.Contains(dl[0], "554 refused") || !strings.Contains(dl[0], `"sink":"tx"`) {
				t.Fatalf("dead letters %v", dl)
			}
			if tx.commits != tc.commits || tx.aborts != tc.aborts || tx.batches != tc.batchesTaken {
				t.Fatalf("%d commits, %d aborts, %d batches; want %d, %d, %d", tx.commits, tx.aborts, tx.batches, tc.commits, tc.aborts, tc.batchesTaken)
			}
			if w.store.cursor() != "w0" {
				t.Fatalf("cursor %q", w.store.cursor())
			}
		})
	}

	// Without a dead-letter sink the pipeline stops instead of dropping.
	w := newWorld(events(`{"msg":"bad"}`))
	w.sinks["tx"] = &committer{failCommit: func() error {
		return &pipeline.RejectedError{Sink: "tx", Rejected: []pipeline.Rejection{{Event: pipeline.Event{ID: "0"}, Reason: "554"}}}
	}}
	if err := run(t, w, spec([]string{"tx"}), nil); err == nil || !pipeline.IsPermanent(err) || w.store.cursor() != "" {
		t.Fatalf("err = %v, cursor %q", err, w.store.cursor())
	}
}

// TestTransformsRunOncePerWindow: a sink's retry does not run the
// transforms again, and the source's events are never changed.
func TestTransformsRunOncePerWindow(t *testing.T) {
	win := events(`{"msg":"x"}`, `{"msg":"y"}`)
	w := newWorld(win)
	w.src.size = 1
	fails := 1
	w.sinks["a"] = &sink{fail: func(pipeline.Batch) error {
		if fails > 0 {
			fails--
			return errors.New("busy")
		}
		return nil
	}}
	if err := run(t, w, spec([]string{"a"}, "shout"), nil); err != nil {
		t.Fatal(err)
	}
	if n := w.upperCalls.Load(); n != 2 {
		t.Fatalf("transform called %d times, want once per batch (2)", n)
	}
	if got := w.sink("a").received(); !slices.Equal(got, []string{`{"msg":"X"}`, `{"msg":"Y"}`}) {
		t.Fatalf("sink got %v", got)
	}
	if string(win.Events[0].Raw) != `{"msg":"x"}` {
		t.Fatalf("source's event changed: %s", win.Events[0].Raw)
	}
}

// TestTransformedBatchesKeepOrder: the batches of a window are transformed
// concurrently and reach the sink in order.
func TestTransformedBatchesKeepOrder(t *testing.T) {
	w := newWorld(numbered(2000))
	w.src.size = 100
	tel := &countingTel{}
	if err := run(t, w, spec([]string{"a"}, "dropodd", "shout"), tel); err != nil {
		t.Fatal(err)
	}
	got := w.sink("a").received()
	if len(got) != 1000 || tel.filtered.Load() != 1000 {
		t.Fatalf("%d events, %d filtered; want 1000 and 1000", len(got), tel.filtered.Load())
	}
	for i, g := range got {
		if want := fmt.Sprintf(`{"msg":"M%d"}`, 2*i); g != want {
			t.Fatalf("event %d = %s, want %s", i, g, want)
		}
	}
}

// blocking is a sink that holds every batch until release is closed or its
// context ends.
type blocking struct {
	lifecycle
	release chan struct{}
	entered chan struct{}
	got     atomic.Int64
}

func (b *blocking) Consume(ctx context.Context, batch pipeline.Batch) error {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	select {
	case <-b.release:
		b.got.Add(int64(len(batch.Events)))
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestShutdownDrainsTheWindowInFlight: a stop finishes and commits the
// window in delivery within the drain timeout and starts no other; a
// window still undelivered when the drain ends makes Run fail with
// ErrInterrupted, cursor unmoved.
func TestShutdownDrainsTheWindowInFlight(t *testing.T) {
	for _, tc := range []struct {
		name      string
		releaseIn time.Duration // when the sink lets the window through
		wantErr   bool
	}{
		{"drained", 500 * time.Millisecond, false},
		{"interrupted", time.Hour, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(numbered(3), numbered(3))
				b := &blocking{release: make(chan struct{}), entered: make(chan struct{}, 1)}
				w.sinks["a"] = b
				p, err := pipeline.Build(w.registry(t), spec([]string{"a"}), nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- p.Run(ctx, pipeline.RunOptions{}) }()
				<-b.entered
				cancel()
				time.AfterFunc(tc.releaseIn, func() { close(b.release) })
				err = <-done
				if tc.wantErr {
					if !errors.Is(err, pipeline.ErrInterrupted) || w.store.cursor() != "" {
						t.Fatalf("err = %v, cursor %q; want ErrInterrupted and no cursor", err, w.store.cursor())
					}
					return
				}
				if err != nil || w.store.cursor() != "w0" || b.got.Load() != 3 {
					t.Fatalf("err = %v, cursor %q, %d events; want the first window committed alone", err, w.store.cursor(), b.got.Load())
				}
			})
		})
	}
}

// TestStoreAsksToRedeliver: a store that lost the window with its failed
// save (a Kafka transaction) gets it sent again to its sink only.
func TestStoreAsksToRedeliver(t *testing.T) {
	win := numbered(5)
	w := newWorld(win)
	tx := &committer{}
	w.sinks["tx"] = tx
	fails := 1
	w.store.fail = func() error {
		if fails > 0 {
			fails--
			return &pipeline.RedeliverError{Sink: "tx", Err: errors.New("commit failed")}
		}
		return nil
	}
	if err := run(t, w, spec([]string{"other", "tx"}), nil); err != nil {
		t.Fatal(err)
	}
	checkOnce(t, "other", w.sink("other").received(), win)
	if len(tx.received()) != 10 || tx.commits != 2 {
		t.Fatalf("tx got %d events in %d commits; want the window twice", len(tx.received()), tx.commits)
	}
	if w.store.cursor() != "w0" {
		t.Fatal("cursor not saved")
	}
}

// TestRedeliveryKeepsDeadLetters: a window sent again at the store's
// request leaves out the events its sink rejected before (they reached the
// dead letter once), and an event the sink rejects only on the second
// delivery reaches the dead letter too instead of being lost.
func TestRedeliveryKeepsDeadLetters(t *testing.T) {
	synctest.Test(t, testRedeliveryKeepsDeadLetters)
}

func testRedeliveryKeepsDeadLetters(t *testing.T) {
	w := newWorld(numbered(4))
	var redelivered atomic.Bool
	tx := &committer{}
	tx.fail = func(b pipeline.Batch) error {
		for _, ev := range b.Events {
			if ev.ID == "1" || (ev.ID == "2" && redelivered.Load()) {
				return errors.Join(&pipeline.RejectedError{Sink: "tx", Rejected: []pipeline.Rejection{{Event: ev, Reason: "invalid record"}}},
					errors.New("transaction aborted"))
			}
		}
		return nil
	}
	w.sinks["tx"] = tx
	w.store.fail = func() error {
		if redelivered.CompareAndSwap(false, true) {
			return &pipeline.RedeliverError{Sink: "tx", Err: errors.New("commit failed")}
		}
		return nil
	}
	sp := spec([]string{"tx"})
	sp.DeadLetter = &pipeline.ComponentSpec{Name: "dlq", Type: "mem", Config: cfg{}, Retry: pipeline.DefaultRetryPolicy()}
	tel := &countingTel{}
	if err := run(t, w, sp, tel); err != nil {
		t.Fatal(err)
	}
	var dead []string
	for _, d := range w.sink("dlq").received() {
		var entry struct{ Event json.RawMessage }
		if err := json.Unmarshal([]byte(d), &entry); err != nil {
			t.Fatal(err)
		}
		dead = append(dead, string(entry.Event))
	}
	if !slices.Equal(dead, []string{`{"msg":"m1"}`, `{"msg":"m2"}`}) || tel.dead.Load() != 2 {
		t.Fatalf("dead letters %v (counted %d), want m1 and m2 once each", dead, tel.dead.Load())
	}
	if got := tx.received(); slices.Contains(got, `{"msg":"m1"}`) {
		t.Fatalf("tx took %v: the event it rejected was sent again", got)
	}
	if w.store.cursor() != "w0" {
		t.Fatal("cursor not saved")
	}
}

// TestSourceFailureAfterWindows: windows emitted before a source fails are
// delivered and committed; Run returns the failure.
// The log line of a committed window counts the overlap's re-reads under a
// name that does not read as duplicates delivered.
func TestWindowCommittedLog(t *testing.T) {
	win := numbered(3)
	win.Fetched, win.Requests = 5, 2
	w := newWorld(win)
	var buf bytes.Buffer
	p, err := pipeline.Build(w.registry(t), spec([]string{"a"}), slog.New(slog.NewJSONHandler(&buf, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(t.Context(), pipeline.RunOptions{Once: true}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"msg":"window committed"`, `"events":3`, `"overlap_reread":2`, `"requests":2`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log %s: want %s", buf.String(), want)
		}
	}
}

func TestSourceFailureAfterWindows(t *testing.T) {
	w := newWorld(numbered(2), numbered(3))
	w.src.err = pipeline.Permanent(errors.New("the key was revoked"))
	err := run(t, w, spec([]string{"a"}), nil)
	if err == nil || !strings.Contains(err.Error(), "the key was revoked") {
		t.Fatalf("err = %v", err)
	}
	if w.store.cursor() != "w1" || len(w.sink("a").received()) != 5 {
		t.Fatalf("cursor %q, %d events", w.store.cursor(), len(w.sink("a").received()))
	}
}

func TestProgressOfABackfill(t *testing.T) {
	goal := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	var wins []pipeline.Window
	for d := range 30 {
		win := numbered(10)
		win.Start = goal.AddDate(0, 0, d-30)
		win.End = win.Start.AddDate(0, 0, 1)
		win.Goal = goal
		wins = append(wins, win)
	}
	w := newWorld(wins...)
	tel := &countingTel{}
	p, err := pipeline.Build(w.registry(t), spec([]string{"a"}), nil, tel)
	if err != nil {
		t.Fatal(err)
	}
	var hooked atomic.Int64
	p.OnProgress(func(source string, pr pipeline.Progress) {
		if source == "acme" {
			hooked.Store(pr.Events)
		}
	})
	if err := p.Run(context.Background(), pipeline.RunOptions{Once: true}); err != nil {
		t.Fatal(err)
	}
	if len(tel.progress) != 30 || hooked.Load() != 300 {
		t.Fatalf("%d progress reports, hook saw %d events; want 30 and 300", len(tel.progress), hooked.Load())
	}
	mid, last := tel.progress[15], tel.progress[29]
	if !mid.Behind() || mid.Reached != wins[15].End || mid.Windows != 16 || mid.Events != 160 {
		t.Fatalf("mid-way progress %+v", mid)
	}
	if last.Behind() || last.Reached != goal || last.Remaining != 0 {
		t.Fatalf("final progress %+v", last)
	}
}

func TestEventObjectRoundTrip(t *testing.T) {
	raw := `{"b":{"x":[1,2.50,1e400]},"a":"<é>","n":12345678901234567890}`
	ev := pipeline.Event{Raw: []byte(raw)}
	if err := ev.Finalize(); err != nil || string(ev.Raw) != raw {
		t.Fatal("Finalize of an unchanged event must keep its bytes")
	}
	obj, err := ev.Object()
	if err != nil {
		t.Fatal(err)
	}
	obj2, _ := ev.Object()
	obj2["new"] = true
	if _, ok := obj["new"]; !ok {
		t.Fatal("Object decoded twice")
	}
	ev.SetObject(obj)
	if err := ev.Finalize(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`2.50`, `1e400`, `12345678901234567890`, `"<é>"`, `"new":true`} {
		if !strings.Contains(string(ev.Raw), want) {
			t.Errorf("re-encoded %s lacks %s", ev.Raw, want)
		}
	}
	bad := pipeline.Event{Raw: []byte(`{"a":`)}
	if _, err := bad.Object(); err == nil {
		t.Fatal("invalid JSON decoded")
	}
}

func TestSecretNeverPrints(t *testing.T) {
	type conf struct {
		Key pipeline.Secret `json:"key"`
	}
	c := conf{Key: "sk-admin-verysecret"}
	var buf bytes.Buffer
	js, _ := json.Marshal(c)
	buf.Write(js)
	fmt.Fprintf(&buf, " %v %+v %#v %s", c, c, c, c.Key)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "key", c.Key, "conf", c)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "key", c.Key, "conf", c)
	if strings.Contains(buf.String(), "verysecret") {
		t.Fatalf("secret printed: %s", buf.String())
	}
	if c.Key.Value() != "sk-admin-verysecret" {
		t.Fatal("Value lost the secret")
	}
}

func TestRegistryRefusesDuplicates(t *testing.T) {
	def := func() cfg { return cfg{} }
	f := pipeline.NewSinkFactory("x", def, func(pipeline.Settings, cfg) (pipeline.Sink, error) { return nil, nil })
	if _, err := pipeline.NewRegistry(f, f); err == nil {
		t.Fatal("duplicate type registered")
	}
	r, _ := pipeline.NewRegistry(f)
	if _, ok := r.Factory(pipeline.KindSink, "x"); !ok || len(r.Types(pipeline.KindSource)) != 0 {
		t.Fatal("lookup wrong")
	}
}

func TestErrorClassification(t *testing.T) {
	base := errors.New("x")
	if pipeline.IsPermanent(base) || !pipeline.IsPermanent(fmt.Errorf("wrapped: %w", pipeline.Permanent(base))) {
		t.Fatal("Permanent classification")
	}
	if d, ok := pipeline.RetryDelay(fmt.Errorf("w: %w", pipeline.RetryAfter(base, 3*time.Second))); !ok || d != 3*time.Second {
		t.Fatal("RetryDelay")
	}
	if !pipeline.IsPermanent(&pipeline.RejectedError{}) {
		t.Fatal("RejectedError must be permanent")
	}
	p := pipeline.DefaultRetryPolicy()
	for a := range 20 {
		if d := p.Backoff(a); d <= 0 || d > p.MaxInterval*6/5 {
			t.Fatalf("Backoff(%d) = %v", a, d)
		}
	}
	if got := pipeline.SectionErrors("tls", errors.Join(pipeline.FieldError("ca_file", "bad"), pipeline.FieldError("min_version", "bad"))); len(got) != 2 || got[0].Error() != "tls.ca_file: bad" {
		t.Fatalf("SectionErrors = %v", got)
	}
}

// invalidTel counts InvalidEvents.
type invalidTel struct {
	countingTel
	invalid atomic.Int64
}

func (c *invalidTel) InvalidEvents(_ string, n int) { c.invalid.Add(int64(n)) }

// TestInvalidEventsGoToTheDeadLetter: an event the source could not index
// goes to the dead-letter sink with the source and the reason, not to the
// sinks, and the window commits; without a dead-letter sink the window is
// refused and its cursor not saved.
func TestInvalidEventsGoToTheDeadLetter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		win := numbered(3)
		win.Events[1].Invalid = "effective_at is not a number"
		win.Cursor = []byte("w0")
		w := newWorld(win)
		sp := spec([]string{"out"})
		sp.DeadLetter = &pipeline.ComponentSpec{Name: "dlq", Type: "mem", Config: cfg{}, Retry: pipeline.DefaultRetryPolicy()}
		tel := &invalidTel{}
		if err := run(t, w, sp, tel); err != nil {
			t.Fatal(err)
		}
		if got := w.sink("out").received(); !slices.Equal(got, []string{`{"msg":"m0"}`, `{"msg":"m2"}`}) {
			t.Fatalf("the sink took %v", got)
		}
		dead := w.sink("dlq").received()
		if len(dead) != 1 {
			t.Fatalf("dead letters %v", dead)
		}
		var entry struct {
			Sink, Source, Reason string
			Event                json.RawMessage
		}
		if err := json.Unmarshal([]byte(dead[0]), &entry); err != nil {
			t.Fatal(err)
		}
		if entry.Source != "acme" || entry.Sink != "" || entry.Reason != "effective_at is not a number" || string(entry.Event) != `{"msg":"m1"}` {
			t.Fatalf("dead letter %s", dead[0])
		}
		if tel.invalid.Load() != 1 || tel.dead.Load() != 0 || w.store.cursor() != "w0" {
			t.Fatalf("counted %d invalid, %d dead-lettered by sinks; cursor %q", tel.invalid.Load(), tel.dead.Load(), w.store.cursor())
		}
	})
	synctest.Test(t, func(t *testing.T) {
		win := numbered(2)
		win.Events[0].Invalid = "no id"
		win.Cursor = []byte("w0")
		w := newWorld(win)
		if err := run(t, w, spec([]string{"out"}), nil); err == nil || !strings.Contains(err.Error(), "no dead-letter sink") {
			t.Fatalf("without a dead-letter sink: %v", err)
		}
		if w.store.cursor() != "" {
			t.Fatal("the cursor moved past an event nobody took")
		}
	})
}
