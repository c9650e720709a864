package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
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

func (l lifecycle) Start(context.Context) error    { l.j.add("start " + l.name); return nil }
func (l lifecycle) Shutdown(context.Context) error { l.j.add("stop " + l.name); return nil }

// listSource delivers its events in one window, then commits "done".
type listSource struct {
	lifecycle
	events []pipeline.Event
}

func (s *listSource) Run(ctx context.Context, host pipeline.SourceHost) error {
	if cur, _ := host.Store.Load(ctx, s.name); string(cur) == "done" {
		return nil
	}
	for i, ev := range s.events {
		b := pipeline.Batch{Source: s.name, Events: []pipeline.Event{ev}, WindowStart: i == 0, WindowEnd: i == len(s.events)-1}
		if err := host.Next.Consume(ctx, b); err != nil {
			return err
		}
	}
	return host.Store.Save(ctx, s.name, []byte("done"))
}

type memStore struct {
	lifecycle
	mu sync.Mutex
	m  map[string][]byte
}

func (s *memStore) Load(_ context.Context, k string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[k], nil
}

func (s *memStore) Save(_ context.Context, k string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[k] = v
	return nil
}

// upper is a transform that upper-cases the "msg" field of every event.
type upper struct{ lifecycle }

func (u upper) Process(_ context.Context, b pipeline.Batch) (pipeline.Batch, error) {
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

// firstCopy keeps the first event of each id modulo 1000 in a batch: like
// dedup it looks across the batch, so it must get all of it.
type firstCopy struct {
	lifecycle
	largest *atomic.Int64 // the most events one Process call got
}

func (firstCopy) WholeBatch() {}

func (f firstCopy) Process(_ context.Context, b pipeline.Batch) (pipeline.Batch, error) {
	if n := int64(len(b.Events)); n > f.largest.Load() {
		f.largest.Store(n)
	}
	seen := map[int]bool{}
	b.Events = slices.DeleteFunc(b.Events, func(e pipeline.Event) bool {
		n, _ := strconv.Atoi(e.ID)
		dup := seen[n%1000]
		seen[n%1000] = true
		return dup
	})
	return b, nil
}

// sink records what it received and fails as told.
type sink struct {
	lifecycle
	mu   sync.Mutex
	got  []string
	fail func(b pipeline.Batch) error
}

func (s *sink) Consume(_ context.Context, b pipeline.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
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

type cfg struct{}

func (cfg) Validate() error { return nil }

// world builds a registry whose factories hand out the given instances.
type world struct {
	j          *journal
	src        *listSource
	sinks      map[string]*sink
	store      *memStore
	transforms map[string]pipeline.Transform
	largest    atomic.Int64 // firstCopy's largest batch
	keeper     *keeper      // the sink of type keeper
}

func newWorld(events ...string) *world {
	w := &world{j: &journal{}, sinks: map[string]*sink{}, transforms: map[string]pipeline.Transform{}}
	w.src = &listSource{lifecycle: lifecycle{"src", w.j}}
	for i, e := range events {
		w.src.events = append(w.src.events, pipeline.Event{ID: fmt.Sprint(i), Type: "t", Raw: []byte(e)})
	}
	w.store = &memStore{lifecycle: lifecycle{"store", w.j}, m: map[string][]byte{}}
	return w
}

func (w *world) registry(t testing.TB) *pipeline.Registry {
	def := func() cfg { return cfg{} }
	r, err := pipeline.NewRegistry(
		pipeline.NewSourceFactory("list", def, func(set pipeline.Settings, _ cfg) (pipeline.Source, error) {
			w.src.name = set.Name
			return w.src, nil
		}),
		pipeline.NewSinkFactory("mem", def, func(set pipeline.Settings, _ cfg) (pipeline.Sink, error) {
			s := &sink{lifecycle: lifecycle{set.Name, w.j}}
			if old, ok := w.sinks[set.Name]; ok {
				s.fail = old.fail
			}
			w.sinks[set.Name] = s
			return s, nil
		}),
		pipeline.NewSinkFactory("keeper", def, func(pipeline.Settings, cfg) (pipeline.Sink, error) {
			return w.keeper, nil
		}),
		pipeline.NewTransformFactory("upper", def, func(set pipeline.Settings, _ cfg) (pipeline.Transform, error) {
			return upper{lifecycle{set.Name, w.j}}, nil
		}),
		pipeline.NewTransformFactory("dropodd", def, func(set pipeline.Settings, _ cfg) (pipeline.Transform, error) {
			return dropOdd{lifecycle{set.Name, w.j}}, nil
		}),
		pipeline.NewTransformFactory("firstcopy", def, func(set pipeline.Settings, _ cfg) (pipeline.Transform, error) {
			return firstCopy{lifecycle{set.Name, w.j}, &w.largest}, nil
		}),
		pipeline.NewTransformFactory("tag", def, func(set pipeline.Settings, _ cfg) (pipeline.Transform, error) {
			return tag{lifecycle{set.Name, w.j}}, nil
		}),
		pipeline.NewStoreFactory("mem", def, func(pipeline.Settings, cfg, pipeline.StoreHost) (pipeline.CheckpointStore, error) {
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
		if t == "dropodd" || t == "firstcopy" || strings.HasPrefix(t, "tag") {
			typ = strings.TrimRight(t, "0123456789")
		}
		sp.Transforms = append(sp.Transforms, pipeline.ComponentSpec{Name: t, Type: typ, Config: cfg{}})
	}
	return sp
}

// Example shows the whole contract: a source delivers a window, a
// transform changes the events (decoded once, encoded once), every sink
// receives them, and the cursor is saved only after all acknowledged.
func Example() {
	w := newWorld(`{"msg":"hello","n":1.50}`, `{"msg":"world","n":2}`)
	p, err := pipeline.Build(w.registry(nil), spec([]string{"a", "b"}, "shout"), nil, nil)
	if err != nil {
		panic(err)
	}
	if err := p.Run(context.Background(), pipeline.RunOptions{Once: true}); err != nil {
		panic(err)
	}
	fmt.Println(w.sinks["a"].got)
	fmt.Println(w.sinks["b"].got)
	cur, _ := w.store.Load(context.Background(), "acme")
	fmt.Println(string(cur))
	// Output:
	// [{"msg":"HELLO","n":1.50} {"msg":"WORLD","n":2}]
	// [{"msg":"HELLO","n":1.50} {"msg":"WORLD","n":2}]
	// done
}

func TestLifecycleOrder(t *testing.T) {
	w := newWorld(`{}`)
	p, err := pipeline.Build(w.registry(t), spec([]string{"a", "b"}, "t1", "t2"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background(), pipeline.RunOptions{Once: true}); err != nil {
		t.Fatal(err)
	}
	want := []string{"start a", "start b", "start t1", "start t2", "start store", "start acme",
		"stop acme", "stop store", "stop t2", "stop t1", "stop b", "stop a"}
	if got := w.j.list(); !slices.Equal(got, want) {
		t.Fatalf("lifecycle\n got %v\nwant %v", got, want)
	}
}

func TestFanOutNeedsEverySink(t *testing.T) {
	w := newWorld(`{"msg":"x"}`)
	w.sinks["b"] = &sink{fail: func(pipeline.Batch) error { return pipeline.Permanent(errors.New("b is broken")) }}
	p, err := pipeline.Build(w.registry(t), spec([]string{"a", "b"}), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Run(context.Background(), pipeline.RunOptions{Once: true})
	if err == nil || !strings.Contains(err.Error(), "b is broken") || !strings.Contains(err.Error(), `sink "b"`) {
		t.Fatalf("err = %v", err)
	}
	if cur, _ := w.store.Load(context.Background(), "acme"); cur != nil {
		t.Fatal("cursor saved although a sink failed")
	}
}

type countingTel struct {
	pipeline.NopTelemetry
	retries, dead, filtered atomic.Int64
}

func (c *countingTel) Retried(string, string, time.Duration) { c.retries.Add(1) }
func (c *countingTel) DeadLettered(_ string, n int)          { c.dead.Add(int64(n)) }
func (c *countingTel) EventsFiltered(_ string, n int)        { c.filtered.Add(int64(n)) }

func TestRetriesHonourRetryAfter(t *testing.T) {
	w := newWorld(`{"msg":"x"}`)
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
	p, err := pipeline.Build(w.registry(t), sp, nil, tel)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background(), pipeline.RunOptions{Once: true}); err != nil {
		t.Fatal(err)
	}
	if calls != 3 || tel.retries.Load() != 2 || len(w.sinks["a"].got) != 1 {
		t.Fatalf("calls %d retries %d got %v", calls, tel.retries.Load(), w.sinks["a"].got)
	}
	for _, g := range gaps[1:] {
		if g < 40*time.Millisecond {
			t.Fatalf("retried after %v, before the 40ms the sink asked for", g)
		}
	}
}

func TestRejectedEventsGoToDeadLetter(t *testing.T) {
	w := newWorld(`{"msg":"ok"}`, `{"msg":"too big"}`)
	w.sinks["a"] = &sink{fail: func(b pipeline.Batch) error {
		if strings.Contains(string(b.Events[0].Raw), "big") {
			return &pipeline.RejectedError{Sink: "a", Rejected: []pipeline.Rejection{{Event: b.Events[0], Reason: "record too large"}}}
		}
		return nil
	}}
	sp := spec([]string{"a"})
	sp.DeadLetter = &pipeline.ComponentSpec{Name: "dlq", Type: "mem", Config: cfg{}, Retry: pipeline.DefaultRetryPolicy()}
	tel := &countingTel{}
	p, err := pipeline.Build(w.registry(t), sp, nil, tel)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background(), pipeline.RunOptions{Once: true}); err != nil {
		t.Fatal(err)
	}
	dl := w.sinks["dlq"].got
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

	// Without a dead-letter sink the pipeline stops instead of dropping.
	w2 := newWorld(`{"msg":"too big"}`)
	w2.sinks["a"] = w.sinks["a"]
	w2.sinks["a"].got = nil
	p, err = pipeline.Build(w2.registry(t), spec([]string{"a"}), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Run(context.Background(), pipeline.RunOptions{Once: true})
	if err == nil || !pipeline.IsPermanent(err) || !strings.Contains(err.Error(), "no dead_letter sink") {
		t.Fatalf("err = %v", err)
	}
	if cur, _ := w2.store.Load(context.Background(), "acme"); cur != nil {
		t.Fatal("cursor saved although an event was refused")
	}
}

func TestTransformsDoNotChangeTheSourcesEvents(t *testing.T) {
	w := newWorld(`{"msg":"x"}`)
	p, err := pipeline.Build(w.registry(t), spec([]string{"a"}, "shout"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev := pipeline.Event{ID: "1", Raw: []byte(`{"msg":"x"}`)}
	b := pipeline.Batch{Source: "acme", Events: []pipeline.Event{ev}, WindowStart: true, WindowEnd: true}
	for range 2 { // a retried window is transformed afresh
		if err := p.Head().Consume(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	if string(b.Events[0].Raw) != `{"msg":"x"}` {
		t.Fatalf("source's event changed: %s", b.Events[0].Raw)
	}
	if got := w.sinks["a"].got; len(got) != 2 || got[1] != `{"msg":"X"}` {
		t.Fatalf("sink got %v", got)
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

// twoProcs makes Build see at least two processors, so that a large batch
// is cut into parts transformed concurrently even on a one-core machine.
func twoProcs(t *testing.T) {
	if n := runtime.GOMAXPROCS(0); n < 2 {
		runtime.GOMAXPROCS(2)
		t.Cleanup(func() { runtime.GOMAXPROCS(n) })
	}
}

// TestLargeBatchesKeepOrderAndMarks sends a batch large enough to be
// transformed in parts concurrently: the sink must see every event, in
// order, changed once, with the batch's marks.
func TestLargeBatchesKeepOrderAndMarks(t *testing.T) {
	twoProcs(t)
	w := newWorld()
	var marks []bool
	w.sinks["a"] = &sink{fail: func(b pipeline.Batch) error {
		marks = append(marks, b.WindowStart, b.WindowEnd)
		return nil
	}}
	p, err := pipeline.Build(w.registry(t), spec([]string{"a"}, "shout"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := consumeLarge(t, p, w.sinks["a"])
	if len(got) != 2000 {
		t.Fatalf("%d events", len(got))
	}
	for i, g := range got {
		if want := fmt.Sprintf(`{"msg":"M%d"}`, i); g != want {
			t.Fatalf("event %d = %s, want %s", i, g, want)
		}
	}
	if !slices.Equal(marks, []bool{true, true}) {
		t.Fatalf("marks %v", marks)
	}
}

// TestLargeBatchesWholeBatchTransform: a transform that looks across the
// batch gets all of it, between transforms that get parts.
func TestLargeBatchesWholeBatchTransform(t *testing.T) {
	twoProcs(t)
	w := newWorld()
	p, err := pipeline.Build(w.registry(t), spec([]string{"a"}, "shout", "firstcopy", "dropodd"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := consumeLarge(t, p, w.sinks["a"])
	if n := w.largest.Load(); n != 2000 {
		t.Fatalf("the whole-batch transform got %d events at most, want 2000", n)
	}
	if len(got) != 500 {
		t.Fatalf("%d events, want 500", len(got))
	}
	for i, g := range got {
		if want := fmt.Sprintf(`{"msg":"M%d"}`, 2*i); g != want {
			t.Fatalf("event %d = %s, want %s", i, g, want)
		}
	}
}

// consumeLarge sends one window of 2000 events {"msg":"m<i>"} through p and
// returns what the sink got.
func consumeLarge(t *testing.T, p *pipeline.Pipeline, out *sink) []string {
	t.Helper()
	b := pipeline.Batch{Source: "acme", WindowStart: true, WindowEnd: true}
	for i := range 2000 {
		b.Events = append(b.Events, pipeline.Event{ID: fmt.Sprint(i), Raw: fmt.Appendf(nil, `{"msg":"m%d"}`, i)})
	}
	if err := p.Head().Consume(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return out.got
}

// TestLargeBatchesDroppingEvents: the parts of a large batch are joined in
// order when a transform drops events from them.
func TestLargeBatchesDroppingEvents(t *testing.T) {
	twoProcs(t)
	w := newWorld()
	p, err := pipeline.Build(w.registry(t), spec([]string{"a"}, "dropodd", "shout"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := consumeLarge(t, p, w.sinks["a"])
	if len(got) != 1000 {
		t.Fatalf("%d events, want 1000", len(got))
	}
	for i, g := range got {
		if want := fmt.Sprintf(`{"msg":"M%d"}`, 2*i); g != want {
			t.Fatalf("event %d = %s, want %s", i, g, want)
		}
	}
}
