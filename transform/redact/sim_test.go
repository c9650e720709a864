package redact

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/openai/openaisim"
	"github.com/auditrelay/auditrelay/transform/transformtest"
)

// simEvents returns audit events and request logs of the simulator,
// indexed as a source indexes them.
func simEvents(t testing.TB, seed int64, audit, logs int) []pipeline.Event {
	t.Helper()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	span := 30 * 24 * time.Hour
	sim := openaisim.New(openaisim.Options{Seed: seed, Events: audit, OrgLogEvents: logs, Start: start, Span: span,
		Now: func() time.Time { return start.Add(span) }})
	evs := make([]pipeline.Event, 0, audit+logs)
	add := func(raw []byte) {
		ev, err := transformtest.Index(raw)
		if err != nil {
			t.Fatalf("simulator event %s: %v", raw, err)
		}
		evs = append(evs, ev)
	}
	for i := range audit {
		add(sim.Event(i))
	}
	for i := range logs {
		add(sim.Log(i))
	}
	return evs
}

// fuzzCorpus returns the inputs kept under testdata/fuzz, as events.
func fuzzCorpus(t testing.TB) []pipeline.Event {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "*", "*"))
	var evs []pipeline.Event
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			line = strings.TrimSpace(line)
			lit, ok := strings.CutPrefix(line, "[]byte(")
			if !ok {
				lit, ok = strings.CutPrefix(line, "string(")
			}
			if !ok || !strings.HasSuffix(lit, ")") {
				continue
			}
			s, err := strconv.Unquote(lit[:len(lit)-1])
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			evs = append(evs, pipeline.Event{ID: f, Raw: []byte(s)})
		}
	}
	if len(evs) == 0 {
		t.Fatal("no fuzz corpus under testdata/fuzz")
	}
	return evs
}

// TestSimulatorDifferential redacts 20,000 simulator audit events, 5,000
// request logs (which carry e-mail addresses, IP addresses and keys in
// their prompts), the shared corpus and the fuzz corpus in hash mode, and a
// quarter of the simulator's events in mask and remove modes, and checks
// that:
//   - each event comes out with the same bytes (and ActorEmail) one at a
//     time and inside batches of 1,000, and keeps its very Raw when nothing
//     in it is redacted;
//   - every string, key and number of the result is what the reference
//     (the decoded-object model, see reference) makes of the input, for
//     one event in four;
//   - no match of a pattern's own expression, run on every key and string
//     of the result without the pre-checks, is left outside a marker, and
//     no e-mail address, key, token or PEM block of the input appears in
//     the result's bytes.
func TestSimulatorDifferential(t *testing.T) {
	audit, logs := 20000, 5000
	if testing.Short() {
		audit, logs = 2000, 500
	}
	corpus := simEvents(t, 20261124, audit, logs)
	corpus = append(corpus, transformtest.Corpus(t)...)
	corpus = append(corpus, fuzzCorpus(t)...)
	// The e-mail addresses, keys, tokens and PEM blocks of each event.
	secrets := make([][]string, len(corpus))
	found := map[string][]string{}
	var stringsIn, keysIn, secretsIn int
	for i, e := range corpus {
		m, err := decodeObject(e.Raw)
		if err != nil {
			continue
		}
		walkStrings(m, func(s string) {
			stringsIn++
			f, ok := found[s]
			if !ok {
				f = secretsOf(s)
				found[s] = f
			}
			secrets[i] = append(secrets[i], f...)
			secretsIn += len(f)
		}, func(string) { keysIn++ })
	}
	t.Logf("%d events: %d strings and numbers, %d keys, %d e-mail addresses, keys, tokens and PEM blocks", len(corpus), stringsIn, keysIn, secretsIn)
	modes := []struct {
		name  string
		mut   func(*Config)
		every int // events taken: one in every
	}{
		{"hash", hashMode, 1},
		{"mask", nil, 4},
		{"remove all content", func(c *Config) { c.Mode, c.Content = ModeRemove, ContentAll }, 4},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			r := mustNew(t, mode.mut)
			var corpus, secrets = corpus, secrets
			if mode.every > 1 {
				var c []pipeline.Event
				var s [][]string
				for i := 0; i < len(corpus); i += mode.every {
					c, s = append(c, corpus[i]), append(s, secrets[i])
				}
				corpus, secrets = c, s
			}
			alone := transformtest.Clone(corpus)
			var accepted []int
			kept := 0
			for i := range alone {
				before := alone[i].Raw
				err := r.Event(&alone[i])
				if _, refErr := decodeObject(corpus[i].Raw); (err == nil) != (refErr == nil) {
					t.Fatalf("event %d %q: redact says %v, encoding/json %v", i, corpus[i].Raw, err, refErr)
				}
				if err != nil {
					continue
				}
				accepted = append(accepted, i)
				if bytes.Equal(alone[i].Raw, before) {
					if len(before) > 0 && &alone[i].Raw[0] != &before[0] {
						t.Fatalf("event %d has nothing to redact but got new bytes", i)
					}
					kept++
				}
			}

			// In batches: the same bytes.
			batched := make([]pipeline.Event, len(accepted))
			for j, i := range accepted {
				batched[j] = transformtest.Clone(corpus[i : i+1])[0]
			}
			for lo := 0; lo < len(batched); lo += 1000 {
				b := pipeline.Batch{Source: "acme", Events: batched[lo:min(lo+1000, len(batched))]}
				if _, err := r.Process(context.Background(), b); err != nil {
					t.Fatal(err)
				}
			}
			for j, i := range accepted {
				a, b := &alone[i], &batched[j]
				if !bytes.Equal(a.Raw, b.Raw) || a.ActorEmail != b.ActorEmail {
					t.Fatalf("event %d alone:\n%s %q\nin a batch:\n%s %q", i, a.Raw, a.ActorEmail, b.Raw, b.ActorEmail)
				}
			}

			ref := newReference(r)
			var checked int
			// The checks by expression are slow and strings repeat: each
			// distinct one is checked once.
			clean := map[string]bool{}
			noMatch := func(i int, s string) {
				if !clean[s] {
					noMatchLeft(t, i, s)
					clean[s] = true
				}
			}
			compared := 0
			for j, i := range accepted {
				out := alone[i]
				got, err := decodeObject(out.Raw)
				if err != nil {
					t.Fatalf("event %d: invalid JSON out: %v\n%s", i, err, out.Raw)
				}
				if mode.every > 1 || j%4 == 0 {
					want := transformtest.Clone(corpus[i : i+1])[0]
					if err := ref.event(&want); err != nil {
						t.Fatal(err)
					}
					if err := want.Finalize(); err != nil {
						t.Fatal(err)
					}
					wantObj, _ := decodeObject(want.Raw)
					if !reflect.DeepEqual(got, wantObj) || out.ActorEmail != want.ActorEmail {
						t.Fatalf("event %d differs from the reference\n in:        %s\n out:       %s\n reference: %s", i, corpus[i].Raw, out.Raw, want.Raw)
					}
					compared++
				}
				walkStrings(got, func(s string) { checked++; noMatch(i, s) }, func(s string) { noMatch(i, s) })
				noMatch(i, out.ActorEmail)
				for _, secret := range secrets[i] {
					if bytes.Contains(out.Raw, []byte(secret)) {
						t.Fatalf("event %d: %q survived in %s", i, secret, out.Raw)
					}
				}
			}
			t.Logf("%d events redacted (%d kept their bytes), the same alone and in batches, %d compared with the reference; %d strings out checked",
				len(accepted), kept, compared, checked)
		})
	}
}

// walkStrings calls str for every string and number of v, key for every key.
func walkStrings(v any, str, key func(string)) {
	switch v := v.(type) {
	case string:
		str(v)
	case json.Number:
		str(v.String())
	case map[string]any:
		for k, x := range v {
			key(k)
			walkStrings(x, str, key)
		}
	case []any:
		for _, x := range v {
			walkStrings(x, str, key)
		}
	}
}

// noMatchLeft fails when a built-in pattern's expression, run on all of s
// without any pre-check, has a valid match outside a marker.
func noMatchLeft(t *testing.T, event int, s string) {
	t.Helper()
	markers := markerRE.FindAllStringIndex(s, -1)
	for _, p := range builtins {
		for _, m := range p.re.FindAllStringIndex(s, -1) {
			if m[0] < m[1] && (p.valid == nil || p.valid(s, m[0], m[1])) && !insideMarker(markers, m[0], m[1]) {
				t.Fatalf("event %d: %s %q survived in %q", event, p.name, s[m[0]:m[1]], s)
			}
		}
	}
}

// secretsOf returns the e-mail addresses, keys, tokens and PEM blocks in s:
// matches long and particular enough that their text must not appear
// anywhere in the result.
func secretsOf(s string) []string {
	var out []string
	for _, name := range []string{"email", "openai_key", "api_key", "bearer", "pem"} {
		p := builtins[name]
		for _, m := range p.re.FindAllStringIndex(s, -1) {
			if m[1]-m[0] >= 8 && !insideMarker(markerRE.FindAllStringIndex(s, -1), m[0], m[1]) {
				out = append(out, s[m[0]:m[1]])
			}
		}
	}
	return out
}

// BenchmarkRedactSim times Process on batches of 500 simulator events (400
// audit events, 100 request logs) in hash mode, the mode that costs most.
func BenchmarkRedactSim(b *testing.B) {
	corpus := simEvents(b, 1, 400, 100)
	r := mustNew(b, hashMode)
	evs := make([]pipeline.Event, len(corpus))
	b.ReportAllocs()
	cpu0 := transformtest.CPUTime()
	for b.Loop() {
		copy(evs, corpus) // Process replaces Raw, never writes into it
		if _, err := r.Process(b.Context(), pipeline.Batch{Events: evs}); err != nil {
			b.Fatal(err)
		}
	}
	cpu := transformtest.CPUTime() - cpu0
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(corpus)), "ns/event")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*len(corpus)), "cpu-ns/event")
}
