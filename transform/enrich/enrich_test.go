package enrich

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/schema/openai"
	openaisrc "github.com/auditrelay/auditrelay/source/openai"
	"github.com/auditrelay/auditrelay/source/openai/openaisim"
	"github.com/auditrelay/auditrelay/source/openai/openaisim/openaisimtest"
	"github.com/auditrelay/auditrelay/transform/ecs"
	"github.com/auditrelay/auditrelay/transform/internal/processtest"
	"github.com/auditrelay/auditrelay/transform/ocsf"
	"github.com/auditrelay/auditrelay/transform/redact"
	"github.com/auditrelay/auditrelay/transform/transformtest"
)

const simKey = "sk-admin-test-0123456789"

func startSim(t testing.TB) (*openaisim.Server, string) {
	return openaisimtest.Start(t, openaisim.Options{Seed: 1, Events: 500, Span: time.Hour, Users: 25, Projects: 8, APIKey: simKey})
}

func newEnricher(t testing.TB, base string, mut func(*Config)) *Enricher {
	c := DefaultConfig()
	c.BaseURL, c.APIKey, c.Host, c.Timeout = base, simKey, "relay-1", 10*time.Second
	if mut != nil {
		mut(c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return New(c, slog.New(slog.DiscardHandler), nil, time.Now)
}

func auditrelay(t testing.TB, e *pipeline.Event) map[string]any {
	obj, err := e.Object()
	if err != nil {
		t.Fatal(err)
	}
	ar, ok := obj["auditrelay"].(map[string]any)
	if !ok {
		t.Fatalf("event %s has no auditrelay object", e.ID)
	}
	return ar
}

func simEvents(t testing.TB, srv *openaisim.Server, n int) []pipeline.Event {
	evs := make([]pipeline.Event, n)
	for i := range evs {
		ev, err := transformtest.Index(srv.Event(i))
		if err != nil {
			t.Fatal(err)
		}
		evs[i] = ev
	}
	return evs
}

// TestSimulator resolves the simulator's events against its directory over
// real HTTP.
func TestSimulator(t *testing.T) {
	srv, base := startSim(t)
	e := newEnricher(t, base, func(c *Config) {
		c.Labels = map[string]string{"env": "test"}
		c.Severity = []SeverityRule{{"login.*", "critical"}}
	})
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(t.Context())
	d := e.dir.Load()
	if d == nil || len(d.users) != 25 || len(d.projects) != 8 || len(d.keys) == 0 {
		t.Fatalf("directory not loaded: %+v", d)
	}
	evs := simEvents(t, srv, 500)
	b, err := e.Process(t.Context(), pipeline.Batch{Source: "acme", Events: evs})
	if err != nil {
		t.Fatal(err)
	}
	named, enriched := 0, 0
	for i := range b.Events {
		ev := &b.Events[i]
		ar := auditrelay(t, ev)
		if ar["enriched"] == true {
			enriched++
		}
		if a, ok := ar["actor"].(map[string]any); ok {
			named++
			if ev.ActorEmail != "" && a["email"] != ev.ActorEmail {
				t.Errorf("%s: actor %v, event says %s", ev.ID, a, ev.ActorEmail)
			}
		}
		if ar["host"] != "relay-1" || ar["labels"].(map[string]any)["env"] != "test" {
			t.Errorf("%s: static fields missing: %v", ev.ID, ar)
		}
		var probe struct{ Success *bool }
		_ = json.Unmarshal(srv.Event(i), &probe)
		want := openai.Severity(nil, ev.Type, probe.Success != nil && !*probe.Success)
		if strings.HasPrefix(ev.Type, "login.") {
			want = openai.Critical // the configured override
		}
		if ar["severity"] != string(want) {
			t.Errorf("%s (%s): severity %v, want %s", ev.ID, ev.Type, ar["severity"], want)
		}
		obj, _ := ev.Object()
		var orig map[string]any
		_ = json.Unmarshal(srv.Event(i), &orig)
		for k := range orig {
			if _, ok := obj[k]; !ok {
				t.Errorf("%s: OpenAI field %s lost", ev.ID, k)
			}
		}
	}
	if named < 200 || enriched < 400 {
		t.Fatalf("only %d of 500 events got an actor name, %d enriched", named, enriched)
	}
	if b.Source != "acme" {
		t.Fatal("source lost")
	}
}

// TestAPIDown: the directory cannot load; delivery goes on, marked.
func TestAPIDown(t *testing.T) {
	tests := []struct {
		name string
		h    http.HandlerFunc
	}{
		{"refused key", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) }},
		{"garbage", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{not json")) }},
		{"hangs", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.h)
			defer srv.Close()
			e := newEnricher(t, srv.URL, func(c *Config) { c.Timeout = 300 * time.Millisecond })
			e.loader.client.RetryMax = 0
			if err := e.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			defer e.Shutdown(t.Context())
			evs := transformtest.Corpus(t)
			b, err := e.Process(t.Context(), pipeline.Batch{Events: evs})
			if err != nil {
				t.Fatal(err)
			}
			for i := range b.Events {
				if ar := auditrelay(t, &b.Events[i]); ar["enriched"] != false {
					t.Fatalf("%s: enriched = %v with the API down", b.Events[i].ID, ar["enriched"])
				}
			}
		})
	}
}

func TestTTLExpires(t *testing.T) {
	_, base := startSim(t)
	now := time.Unix(1_750_000_000, 0)
	c := DefaultConfig()
	c.BaseURL, c.APIKey = base, simKey
	e := New(c, slog.New(slog.DiscardHandler), nil, func() time.Time { return now })
	e.Refresh(t.Context())
	ev := pipeline.Event{Type: "login.succeeded", Raw: []byte(`{"type":"login.succeeded"}`)}
	b, _ := e.Process(t.Context(), pipeline.Batch{Events: []pipeline.Event{ev}})
	if auditrelay(t, &b.Events[0])["enriched"] != true {
		t.Fatal("fresh directory: want enriched")
	}
	now = now.Add(c.TTL + time.Second)
	b, _ = e.Process(t.Context(), pipeline.Batch{Events: []pipeline.Event{{Type: "login.succeeded", Raw: []byte(`{"type":"x"}`)}}})
	if auditrelay(t, &b.Events[0])["enriched"] != false {
		t.Fatal("directory older than ttl: want enriched=false")
	}
}

func TestValidate(t *testing.T) {
	c := DefaultConfig()
	c.BaseURL, c.RefreshInterval, c.TTL, c.MaxEntries, c.Timeout = "ftp://x", time.Hour, time.Minute, 0, 0
	c.Severity = []SeverityRule{{"", "loud"}}
	c.TLS.MinVersion = "1.0"
	c.APIKey = "sk-admin-secret-value"
	err := c.Validate()
	for _, k := range []string{"base_url:", "ttl:", "max_entries:", "timeout:", "severity[0].match:", "severity[0].level:", "tls.min_version:"} {
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("error %v does not name %s", err, k)
		}
	}
	if strings.Contains(err.Error(), "secret-value") {
		t.Fatal("secret in error")
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestGolden enriches the corpus against a fixed directory.
func TestGolden(t *testing.T) {
	e := New(&Config{TTL: time.Hour, Host: "relay-1", Labels: map[string]string{"env": "prod"}},
		slog.New(slog.DiscardHandler), nil, func() time.Time { return time.Unix(1_748_740_000, 0) })
	d := &directory{loadedAt: time.Unix(1_748_739_000, 0),
		users: map[string]user{"user-grace": {Name: "Grace Hopper", Email: "grace@acme.example", Role: "owner", Type: "user"},
			"user-ada":   {Name: "Ada Lovelace", Email: "ada@acme.example", Role: "reader", Type: "user"},
			"user-linus": {Name: "Linus Torvalds", Email: "linus@acme.example", Role: "reader", Type: "user"}},
		projects: map[string]project{"proj_support": {Name: "Support Copilot", Status: "active"}},
		keys: map[string]key{"key_Owner123": {Name: "ci key", Owner: &owner{Type: "user", ID: "user-ada", Name: "Ada Lovelace"}},
			"key_Bot456":    {Name: "bot key", Owner: &owner{Type: "service_account", ID: "svc_acct_bot", Name: "Support Bot"}},
			"key_AbCdEf123": {Name: "new key", Owner: &owner{Type: "user", ID: "user-grace", Name: "Grace Hopper"}}},
		accounts: map[string]account{"svc_acct_bot": {Name: "Support Bot", Role: "member", Type: "service_account"}}}
	e.dir.Store(d)
	b, err := e.Process(t.Context(), pipeline.Batch{Events: transformtest.Corpus(t)})
	if err != nil {
		t.Fatal(err)
	}
	transformtest.Golden(t, filepath.Join("testdata", "corpus.golden.jsonl"), transformtest.Lines(t, b.Events))

	// Checked by hand against the corpus and the directory above: Grace
	// created key_AbCdEf123 in Support Copilot (api_key.created: medium),
	// and the bot's service account deleted a resource the table does not
	// name (*.deleted: low). Both were read at the corpus's observed time.
	want := map[string]string{
		"audit_log-000_20250601": `{"actor":{"email":"grace@acme.example","name":"Grace Hopper","role":"owner","type":"user"},"enriched":true,"host":"relay-1","ingested_at":"2025-06-01T12:00:00Z","labels":{"env":"prod"},"project":{"name":"Support Copilot","status":"active"},"severity":"medium","severity_id":3,"source":"acme","target":{"name":"new key","owner":{"id":"user-grace","name":"Grace Hopper","type":"user"}}}`,
		"audit_log-034_20250601": `{"actor":{"name":"Support Bot","role":"member","type":"service_account"},"api_key":{"name":"bot key","owner":{"id":"svc_acct_bot","name":"Support Bot","type":"service_account"}},"enriched":true,"host":"relay-1","ingested_at":"2025-06-01T12:00:00Z","labels":{"env":"prod"},"project":{"name":"Support Copilot","status":"active"},"severity":"low","severity_id":2,"source":"acme"}`,
	}
	for _, ev := range b.Events {
		if w, ok := want[ev.ID]; ok {
			var got struct{ Auditrelay json.RawMessage }
			if err := json.Unmarshal(ev.Raw, &got); err != nil || string(got.Auditrelay) != w {
				t.Errorf("%s: auditrelay\n %s\nwant\n %s", ev.ID, got.Auditrelay, w)
			}
			delete(want, ev.ID)
		}
	}
	if len(want) > 0 {
		t.Errorf("events missing from the output: %v", want)
	}
}

// checkSamePaths asserts that enriching the event's bytes and enriching it
// as a transform before left it, decoded (enrich encodes it first, its keys
// sorted), give the same event.
func checkSamePaths(t *testing.T, e *Enricher, ev pipeline.Event) {
	byRaw := transformtest.Clone([]pipeline.Event{ev})[0]
	byObj := transformtest.Clone([]pipeline.Event{ev})[0]
	if obj, err := byObj.Object(); err == nil {
		byObj.SetObject(obj) // Raw is no longer current
	}
	b1, errRaw := e.Process(context.Background(), pipeline.Batch{Events: []pipeline.Event{byRaw}})
	b2, errObj := e.Process(context.Background(), pipeline.Batch{Events: []pipeline.Event{byObj}})
	if (errRaw == nil) != (errObj == nil) {
		t.Fatalf("errors differ on %q: raw %v, object %v", ev.Raw, errRaw, errObj)
	}
	if errRaw != nil {
		return
	}
	var a, b any
	for i, ev := range []*pipeline.Event{&b1.Events[0], &b2.Events[0]} {
		if err := ev.Finalize(); err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(ev.Raw))
		dec.UseNumber()
		if err := dec.Decode([]*any{&a, &b}[i]); err != nil {
			t.Fatalf("invalid JSON %q: %v", ev.Raw, err)
		}
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("paths differ on %s\n raw:    %s\n object: %s", ev.Raw, b1.Events[0].Raw, b2.Events[0].Raw)
	}
}

func TestRawMatchesObject(t *testing.T) {
	e := New(&Config{TTL: time.Hour, Host: "relay-1", Labels: map[string]string{"env": "prod", "<x>": "a&b"}},
		slog.New(slog.DiscardHandler), nil, func() time.Time { return time.Unix(1_748_740_000, 0) })
	e.dir.Store(&directory{loadedAt: time.Unix(1_748_739_000, 0),
		users:    map[string]user{"user-grace": {Name: "Grace \"Amazing\" Hopper", Email: "grace@acme.example", Role: "owner", Type: "user"}},
		projects: map[string]project{"proj_support": {Name: "Support <Copilot>", Status: "active"}},
		keys:     map[string]key{"key_Owner123": {Name: "ci key", Owner: &owner{Type: "user", ID: "user-ada", Name: "Ada Lovelace"}}},
		accounts: map[string]account{"svc_acct_bot": {Name: "Support Bot", Role: "member", Type: "service_account"}}})
	extra := []string{`{}`, ` { } `, `null`, `[]`, `{"a":1} x`, `{"auditrelay":{"old":true},"type":"x"}`,
		`{"type":"user.added","user.added":{"id":"user-grace"},"success":false}`,
		`{"event":"organization.user.deleted","type":null,"actor":{"type":"user","id":"user-grace"},"target":{"type":"user","id":"gone"}}`,
		`{"actor":{"type":"api_key","api_key":{"id":"key_Owner123","user":"not an object","service_account":{"id":"svc_acct_bot"}}},"actor":{"type":"session"}}`,
	}
	evs := transformtest.Corpus(t)
	for _, raw := range extra {
		ev, err := transformtest.Index([]byte(raw))
		if err != nil {
			ev = pipeline.Event{Raw: []byte(raw)}
		}
		evs = append(evs, ev)
	}
	for _, ev := range evs {
		t.Run(string(ev.Raw[:min(len(ev.Raw), 40)]), func(t *testing.T) { checkSamePaths(t, e, ev) })
	}
}

// TestReplacesAnnotation: an event that holds an auditrelay member already
// (relayed events read again) leaves enrich with one, the new one, and the
// mappings after enrich read it (severity, the actor's name) as they read
// an event enriched the first time.
func TestReplacesAnnotation(t *testing.T) {
	e := New(&Config{TTL: time.Hour}, slog.New(slog.DiscardHandler), nil, func() time.Time { return time.Unix(1_748_740_000, 0) })
	e.dir.Store(&directory{loadedAt: time.Unix(1_748_739_000, 0),
		users: map[string]user{"user-grace": {Name: "Grace Hopper", Email: "grace@acme.example", Role: "owner", Type: "user"}}})
	const fresh = `{"id":"a","type":"user.deleted","effective_at":1,"actor":{"type":"session","session":{"user":{"id":"user-grace"}}}`
	// Where each mapping puts the severity id and the actor's name.
	mappings := []struct {
		tr             pipeline.Transform
		severity, name []string
	}{
		{ocsf.New(ocsf.DefaultConfig()), []string{"severity_id"}, []string{"actor", "user", "name"}},
		{ecs.New(ecs.DefaultConfig()), []string{"event", "severity"}, []string{"user", "name"}},
	}
	at := func(m map[string]any, path []string) any {
		var v any = m
		for _, k := range path {
			o, _ := v.(map[string]any)
			v = o[k]
		}
		return v
	}
	for _, raw := range []string{
		fresh + `}`,
		fresh + `,"auditrelay":{"severity":"info","severity_id":1,"actor":{"name":"Old Name"}}}`,
		`{"auditrelay":1,` + fresh[1:] + `,"auditrelay":{"severity_id":1,"actor":{"name":"Old Name"}}}`,
		// The key written with an escape is the same key to a decoder.
		fresh + `,"auditrel\u0061y":{"severity":"info","actor":{"name":"Old Name"}}}`,
	} {
		for _, mp := range mappings {
			ev := pipeline.Event{ID: "a", Type: "user.deleted", Schema: openai.SchemaAuditLog, Raw: []byte(raw)}
			b, err := e.Process(t.Context(), pipeline.Batch{Events: []pipeline.Event{ev}})
			if err != nil {
				t.Fatal(err)
			}
			if n := bytes.Count(b.Events[0].Raw, []byte(`"auditrelay"`)); n != 1 || bytes.Contains(b.Events[0].Raw, []byte("Old Name")) {
				t.Fatalf("%s: %d auditrelay members after enrich, or the old one kept: %s", raw, n, b.Events[0].Raw)
			}
			if b, err = mp.tr.Process(t.Context(), b); err != nil {
				t.Fatal(err)
			}
			out := b.Events[0]
			if err := out.Finalize(); err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(out.Raw, &m); err != nil {
				t.Fatal(err)
			}
			if sev, name := at(m, mp.severity), at(m, mp.name); sev != 4.0 || name != "Grace Hopper" {
				t.Errorf("%s, then %s: severity %v, actor name %v; want 4 (user.deleted: high) and Grace Hopper\n%s", raw, out.Schema, sev, name, out.Raw)
			}
			if bytes.Contains(out.Raw, []byte("Old Name")) {
				t.Errorf("%s: the old annotation survived: %s", raw, out.Raw)
			}
		}
	}
}

// FuzzEnrich: any JSON object enriches without panic into valid JSON.
func FuzzEnrich(f *testing.F) {
	for _, e := range transformtest.Corpus(f) {
		f.Add(e.Raw, e.Type)
	}
	f.Add([]byte(`{}}`), "") // a stray brace the decoded path once let pass
	now := time.Unix(1_748_740_000, 0)
	e := New(&Config{TTL: time.Hour}, slog.New(slog.DiscardHandler), nil, func() time.Time { return now })
	e.dir.Store(&directory{loadedAt: now, users: map[string]user{}, projects: map[string]project{}, keys: map[string]key{}, accounts: map[string]account{}})
	f.Fuzz(func(t *testing.T, raw []byte, typ string) {
		checkSamePaths(t, e, pipeline.Event{Raw: append([]byte(nil), raw...), Type: typ})
		processtest.ValidJSON(t, e, pipeline.Event{Raw: raw, Type: typ})
	})
}

// BenchmarkEnrichRedactStream is BenchmarkEnrichRedact over 20,000
// distinct simulator events taken 500 at a time, as a back-fill meets them:
// every batch brings new ids and times.
func BenchmarkEnrichRedactStream(b *testing.B) {
	const n, part = 20000, 500
	srv := openaisim.New(openaisim.Options{Seed: 1, Events: n, Span: 24 * time.Hour, Users: 25, Projects: 8, APIKey: simKey})
	base, err := srv.Start()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	e := newEnricher(b, base, nil)
	e.Refresh(b.Context())
	rc := redact.DefaultConfig()
	rc.Mode, rc.HashKey = redact.ModeHash, "0123456789abcdef0123"
	r, err := redact.New(rc)
	if err != nil {
		b.Fatal(err)
	}
	corpus := simEvents(b, srv, n)
	evs := make([]pipeline.Event, part)
	b.ReportAllocs()
	cpu0 := transformtest.CPUTime()
	for i := 0; b.Loop(); i++ {
		off := i * part % n
		copy(evs, corpus[off:off+part])
		batch := pipeline.Batch{Events: evs}
		for _, t := range []pipeline.Transform{e, r} {
			if batch, err = t.Process(b.Context(), batch); err != nil {
				b.Fatal(err)
			}
		}
		for i := range batch.Events {
			if err := batch.Events[i].Finalize(); err != nil {
				b.Fatal(err)
			}
		}
	}
	cpu := transformtest.CPUTime() - cpu0
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*part), "ns/event")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*part), "cpu-ns/event")
}

// benchChain times what the runner does with a batch of 500 simulator
// events: each transform's Process in turn, then Finalize on every event.
// Its ns/event is the number to set against the pipeline's cost per event
// without transforms.
func benchChain(b *testing.B, names ...string) {
	srv, base := startSim(b)
	e := newEnricher(b, base, nil)
	e.Refresh(b.Context())
	newRedactor := func() pipeline.Transform {
		rc := redact.DefaultConfig()
		rc.Mode, rc.HashKey = redact.ModeHash, "0123456789abcdef0123"
		r, err := redact.New(rc)
		if err != nil {
			b.Fatal(err)
		}
		return r
	}
	makers := map[string]func() pipeline.Transform{
		"enrich": func() pipeline.Transform { return e },
		"redact": newRedactor,
		"ocsf":   func() pipeline.Transform { return ocsf.New(ocsf.DefaultConfig()) },
		"ecs":    func() pipeline.Transform { return ecs.New(ecs.DefaultConfig()) },
	}
	chain := make([]pipeline.Transform, len(names))
	for i, n := range names {
		chain[i] = makers[n]()
	}
	corpus := simEvents(b, srv, 500)
	b.ReportAllocs()
	b.ResetTimer()
	size := 0
	for _, ev := range corpus {
		size += len(ev.Raw)
	}
	b.SetBytes(int64(size)) // of the raw input
	evs := make([]pipeline.Event, len(corpus))
	cpu0 := transformtest.CPUTime()
	for b.Loop() {
		// A shallow copy is a fresh batch: no transform writes into Raw
		// (they replace it), and the corpus events hold no decoded object.
		copy(evs, corpus)
		batch := pipeline.Batch{Events: evs}
		var err error
		for _, t := range chain {
			if batch, err = t.Process(b.Context(), batch); err != nil {
				b.Fatal(err)
			}
		}
		for i := range batch.Events { // what the runner does after the chain
			if err := batch.Events[i].Finalize(); err != nil {
				b.Fatal(err)
			}
		}
	}
	cpu := transformtest.CPUTime() - cpu0
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(corpus)), "ns/event")
	// CPU time (all threads, GC included) is steadier than wall time when
	// other work shares the machine.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*len(corpus)), "cpu-ns/event")
}

// The chain benchmarks include whatever decoding and encoding the chain
// needs (enrich and redact edit the bytes; ocsf and ecs decode once and
// Finalize encodes once).
func BenchmarkNoTransform(b *testing.B)  { benchChain(b) }
func BenchmarkEnrichWarm(b *testing.B)   { benchChain(b, "enrich") }
func BenchmarkRedactWarm(b *testing.B)   { benchChain(b, "redact") }
func BenchmarkEnrichRedact(b *testing.B) { benchChain(b, "enrich", "redact") }
func BenchmarkDefaultChain(b *testing.B) { benchChain(b, "enrich", "redact", "ocsf") }
func BenchmarkECSChain(b *testing.B)     { benchChain(b, "enrich", "redact", "ecs") }

// TestBatchMatchesAlone: the simulator's events, enriched in one batch
// twice over (every actor met before), come out as each does alone; among
// them the same users' sessions from another address, whose actors open
// with the same bytes and then differ.
func TestBatchMatchesAlone(t *testing.T) {
	srv, base := startSim(t)
	c := DefaultConfig()
	c.BaseURL, c.APIKey, c.Host, c.Timeout = base, simKey, "relay-1", 10*time.Second
	now := time.Unix(1_748_740_000, 0)
	e := New(c, slog.New(slog.DiscardHandler), nil, func() time.Time { return now })
	e.Refresh(t.Context())
	evs := simEvents(t, srv, 500)
	for _, ev := range transformtest.Clone(evs[:100]) {
		ev.Raw = bytes.ReplaceAll(ev.Raw, []byte(`"ip_address":"`), []byte(`"ip_address":"198.51.100.7","was":"`))
		evs = append(evs, ev)
	}
	alone := make([][]byte, len(evs))
	enriched := 0
	for i := range evs {
		b, err := e.Process(t.Context(), pipeline.Batch{Events: transformtest.Clone(evs[i : i+1])})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Events[0].Finalize(); err != nil {
			t.Fatal(err)
		}
		alone[i] = b.Events[0].Raw
		if bytes.Contains(alone[i], []byte(`"enriched":true`)) {
			enriched++
		}
	}
	if enriched < len(evs)/2 {
		t.Fatalf("only %d of %d events were enriched", enriched, len(evs))
	}
	out, err := e.Process(t.Context(), pipeline.Batch{Events: append(transformtest.Clone(evs), transformtest.Clone(evs)...)})
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range out.Events {
		if err := ev.Finalize(); err != nil {
			t.Fatal(err)
		}
		if want := alone[i%len(evs)]; !bytes.Equal(ev.Raw, want) {
			t.Fatalf("event %d in the batch:\n%s\nalone:\n%s", i, ev.Raw, want)
		}
	}
}

// TestKeptReadersForgetTheLastBatch: nothing the enricher keeps from one
// batch changes the next: here the user's id moves within an actor whose
// bytes otherwise stay the same, at the same address.
func TestKeptReadersForgetTheLastBatch(t *testing.T) {
	srv, base := startSim(t)
	var id, email string
	for _, ev := range simEvents(t, srv, 50) {
		var m struct {
			Actor struct {
				Session struct {
					User struct{ ID, Email string }
				}
			}
		}
		if err := json.Unmarshal(ev.Raw, &m); err == nil && m.Actor.Session.User.ID != "" {
			id, email = m.Actor.Session.User.ID, m.Actor.Session.User.Email
			break
		}
	}
	if id == "" {
		t.Fatal("no session actor among the simulator's first events")
	}
	actor := `{"type":"session","session":{"ip_address":"198.51.100.7","user_agent":"curl/8.5","user":%s}}`
	first := fmt.Sprintf(`{"id":"e1","type":"login.succeeded","actor":`+actor+`}`, fmt.Sprintf(`{"id":%q,"email":%q}`, id, email))
	second := fmt.Sprintf(`{"id":"e1","type":"login.succeeded","actor":`+actor+`}`, fmt.Sprintf(`{"email":%q,"id":%q}`, email, id))
	if len(first) != len(second) || strings.Index(first, "user-") < strings.Index(first, `"actor":`)+64 {
		t.Fatal("the two events must differ at the same length, past the actor's first 64 bytes")
	}
	now := time.Unix(1_748_740_000, 0)
	newE := func() *Enricher {
		c := DefaultConfig()
		c.BaseURL, c.APIKey, c.Host, c.Timeout = base, simKey, "relay-1", 10*time.Second
		e := New(c, slog.New(slog.DiscardHandler), nil, func() time.Time { return now })
		e.Refresh(t.Context())
		return e
	}
	fresh := func(raw string) string {
		b, err := newE().Process(t.Context(), pipeline.Batch{Events: []pipeline.Event{{ID: "e1", Type: "login.succeeded", Raw: []byte(raw)}}})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b.Events[0].Raw, []byte(`"enriched":true`)) {
			t.Fatalf("not enriched: %s", b.Events[0].Raw)
		}
		return string(b.Events[0].Raw)
	}
	e := newE()
	transformtest.InSameMemory(t, first, second, map[string]string{first: fresh(first), second: fresh(second)},
		func(raw []byte) pipeline.Event { return pipeline.Event{ID: "e1", Type: "login.succeeded", Raw: raw} },
		func(b pipeline.Batch) (pipeline.Batch, error) { return e.Process(t.Context(), b) })
}

// TestDirectoryRedirectNotFollowed: the directory's client, as the factory
// builds it, follows no redirect, so the admin key never reaches where one
// points (Go forwards it to another port of the same host).
func TestDirectoryRedirectNotFollowed(t *testing.T) {
	var stolen atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			stolen.Add(1)
		}
		w.Write([]byte(`{"object":"list","data":[],"has_more":false}`))
	}))
	defer other.Close()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	defer front.Close()
	c := DefaultConfig()
	c.BaseURL, c.APIKey = front.URL+"/v1", "sk-admin-canary"
	tr, err := NewFactory().CreateTransform(pipeline.Settings{Name: "enrich"}, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := stolen.Load(); n != 0 {
		t.Fatalf("the admin key reached the redirect's target %d times", n)
	}
}

// TestKeyFromTheSources: enrich without an api_key of its own reads the
// directory with the key of the pipeline's OpenAI sources when they share
// one (and their base URL, its own being the default); sources with
// different keys make it a config error naming api_key; without any, it
// stays without a directory.
func TestKeyFromTheSources(t *testing.T) {
	src := func(name, base, key string) pipeline.ComponentSpec {
		c := &openaisrc.Config{APIConfig: openaisrc.APIConfig{BaseURL: base, APIKey: pipeline.Secret(key)}}
		return pipeline.ComponentSpec{Name: name, Type: "openai_audit_logs", Config: c}
	}
	check := func(sources ...pipeline.ComponentSpec) (*Config, error) {
		c := DefaultConfig()
		err := c.CheckSpec("enrich", pipeline.Spec{Sources: sources})
		return c, err
	}
	c, err := check(src("acme", "http://127.0.0.1:9/v1", "sk-admin-a"), src("acme-logs", "http://127.0.0.1:9/v1", "sk-admin-a"))
	if err != nil || c.APIKey != "sk-admin-a" || c.BaseURL != "http://127.0.0.1:9/v1" || c.keyOf != "acme" {
		t.Fatalf("one shared key: %v, key %q, base %q, from %q", err, c.APIKey, c.BaseURL, c.keyOf)
	}
	if _, err := check(src("acme", "", "sk-admin-a"), src("globex", "", "sk-admin-b")); err == nil ||
		!strings.Contains(err.Error(), "api_key") || !strings.Contains(err.Error(), "acme, globex") {
		t.Fatalf("two keys: %v; want an api_key error naming both sources", err)
	}
	if c, err := check(); err != nil || c.APIKey != "" {
		t.Fatalf("no source: %v, key %q", err, c.APIKey)
	}
	own := DefaultConfig()
	own.APIKey = "sk-admin-own"
	if err := own.CheckSpec("enrich", pipeline.Spec{Sources: []pipeline.ComponentSpec{src("acme", "", "sk-admin-a")}}); err != nil || own.APIKey != "sk-admin-own" {
		t.Fatalf("its own key: %v, %q", err, own.APIKey)
	}
}

// degradedTel records TransformDegraded.
type degradedTel struct {
	pipeline.NopTelemetry
	mu   sync.Mutex
	last map[string]error
}

func (d *degradedTel) TransformDegraded(name string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last == nil {
		d.last = map[string]error{}
	}
	d.last[name] = err
}

// TestDirectoryFailureReported: a directory that cannot load is reported
// to telemetry (a metric and /readyz) as well as logged, and cleared when
// a load succeeds.
func TestDirectoryFailureReported(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	_, base := startSim(t)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		target, _ := url.Parse(base)
		httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host}).ServeHTTP(w, r)
	}))
	defer front.Close()
	tel := &degradedTel{}
	c := DefaultConfig()
	c.BaseURL, c.APIKey = front.URL+"/v1", simKey
	tr, err := NewFactory().CreateTransform(pipeline.Settings{Name: "names", Telemetry: tel}, c)
	if err != nil {
		t.Fatal(err)
	}
	e := tr.(*Enricher)
	e.Refresh(t.Context())
	if err := tel.last["names"]; err == nil || !strings.Contains(err.Error(), "directory") {
		t.Fatalf("a failed load reported %v", err)
	}
	down.Store(false)
	e.Refresh(t.Context())
	if err, ok := tel.last["names"]; !ok || err != nil {
		t.Fatalf("a good load reported %v (%v)", err, ok)
	}
}
