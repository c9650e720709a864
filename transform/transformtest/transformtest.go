package transformtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Update, set with -update, rewrites golden files instead of comparing.
var update = flag.Bool("update", false, "rewrite golden files")

// CorpusPath returns the path of the shared event corpus (JSON lines).
func CorpusPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "events.jsonl")
}

// Corpus returns the events of the shared corpus, indexed.
func Corpus(t testing.TB) []pipeline.Event {
	t.Helper()
	return Load(t, CorpusPath())
}

// Load reads a JSON-lines file of events and indexes each one with Index.
func Load(t testing.TB, path string) []pipeline.Event {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []pipeline.Event
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		ev, err := Index(append([]byte(nil), line...))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, ev)
	}
	return out
}

// Index builds an Event over raw, filling the index fields a source fills:
// audit-log objects (with "type") get Schema "openai.audit_log", request
// logs (with "event") "openai.organization_log". Source is "acme".
func Index(raw []byte) (pipeline.Event, error) {
	var v struct {
		ID          string      `json:"id"`
		Type        string      `json:"type"`
		Event       string      `json:"event"`
		EffectiveAt json.Number `json:"effective_at"`
		CreatedAt   json.Number `json:"created_at"`
		Project     *struct {
			ID string `json:"id"`
		} `json:"project"`
		Actor *struct {
			ID      string `json:"id"`
			Session *struct {
				User struct{ ID, Email string } `json:"user"`
			} `json:"session"`
			APIKey *struct {
				ID   string                      `json:"id"`
				User *struct{ ID, Email string } `json:"user"`
			} `json:"api_key"`
		} `json:"actor"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return pipeline.Event{}, err
	}
	ev := pipeline.Event{ID: v.ID, Source: "acme", Raw: raw,
		ObservedAt: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	ts := v.EffectiveAt
	if v.Event != "" {
		ev.Type, ev.Schema, ts = v.Event, "openai.organization_log", v.CreatedAt
	} else {
		ev.Type, ev.Schema = v.Type, "openai.audit_log"
	}
	if n, err := strconv.ParseInt(string(ts), 10, 64); err == nil {
		ev.Time = time.Unix(n, 0).UTC()
	}
	if v.Project != nil {
		ev.ProjectID = v.Project.ID
	}
	if a := v.Actor; a != nil {
		switch {
		case a.Session != nil:
			ev.ActorID, ev.ActorEmail = a.Session.User.ID, a.Session.User.Email
		case a.APIKey != nil && a.APIKey.User != nil:
			ev.ActorID, ev.ActorEmail = a.APIKey.User.ID, a.APIKey.User.Email
		case a.APIKey != nil:
			ev.ActorID = a.APIKey.ID
		default:
			ev.ActorID = a.ID
		}
	}
	return ev, nil
}

// Clone returns deep copies of evs (Raw copied, no decoded object), so that
// a test or benchmark iteration starts from pristine events.
func Clone(evs []pipeline.Event) []pipeline.Event {
	out := make([]pipeline.Event, len(evs))
	for i, e := range evs {
		out[i] = e
		out[i].SetRaw(append([]byte(nil), e.Raw...))
	}
	return out
}

// Golden compares got with the file at path, or rewrites the file when the
// test runs with -update.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (rerun with -update after checking the diff)\n got: %s", path, firstDiff(got, want))
	}
}

func firstDiff(got, want []byte) string {
	g, w := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := range g {
		if i >= len(w) || !bytes.Equal(g[i], w[i]) {
			var wl []byte
			if i < len(w) {
				wl = w[i]
			}
			return "line " + strconv.Itoa(i+1) + ":\n  " + string(g[i]) + "\nwant:\n  " + string(wl)
		}
	}
	return "missing lines at the end"
}

// Lines renders events as JSON lines, each event indented for reviewable
// golden files: one compacted line per event.
func Lines(t testing.TB, evs []pipeline.Event) []byte {
	t.Helper()
	var b bytes.Buffer
	for i := range evs {
		if err := evs[i].Finalize(); err != nil {
			t.Fatalf("finalize %s: %v", evs[i].ID, err)
		}
		if !json.Valid(evs[i].Raw) {
			t.Fatalf("event %s: invalid JSON: %s", evs[i].ID, evs[i].Raw)
		}
		b.Write(evs[i].Raw)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// InSameMemory checks that a transform's state kept from batch to batch
// holds nothing of the last batch, even when the next batch's bytes sit
// at the same address (as a reused read buffer gives them): a memo keyed
// by where or what the bytes were would answer for the old ones. first
// and second must have the same length; the batches hold two copies of
// one of them (the second copy meets what the first left behind), taking
// turns, always at the same address. event makes an event of the raw
// bytes; process runs the transform; each result must read want[first]
// or want[second]. It runs many rounds, so that state pooled by chance
// (a sync.Pool under the race detector drops some of what it is given)
// meets both.
func InSameMemory(t testing.TB, first, second string, want map[string]string, event func(raw []byte) pipeline.Event, process func(pipeline.Batch) (pipeline.Batch, error)) {
	t.Helper()
	if len(first) != len(second) || first == second {
		t.Fatal("InSameMemory: the two events must differ at the same length")
	}
	mem := make([]byte, 2*len(first))
	for round := range 40 {
		raw := first
		if round%2 == 1 {
			raw = second
		}
		copy(mem, raw)
		copy(mem[len(raw):], raw)
		out, err := process(pipeline.Batch{Events: []pipeline.Event{event(mem[:len(raw)]), event(mem[len(raw):])}})
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range out.Events {
			if string(e.Raw) != want[raw] {
				t.Fatalf("round %d, event %d:\n got %s\nwant %s", round, i, e.Raw, want[raw])
			}
		}
	}
}
