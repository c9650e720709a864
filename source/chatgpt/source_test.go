package chatgpt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
	"github.com/auditrelay/auditrelay/source/checkpoint"
	"github.com/auditrelay/auditrelay/source/internal/sourcetest"
)

// allTypes are the simulator's known types and one it has no shape for.
var allTypes = append(slices.Clone(chatgptsim.KnownTypes), "FUTURE_LOG")

// TestEveryRecordOnceInFileOrder: every record of every type, an unknown
// one included, reaches the sink once, in file order per type; the lines a
// file repeats from the one before, and the files that share an end_time,
// change nothing. Records without content pass byte for byte.
func TestEveryRecordOnceInFileOrder(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	sim, base := startSim(t, clk, chatgptsim.Options{Seed: 1, Types: allTypes, SharedEnd: 0.3, DuplicateFraction: 0.5})
	cfg := testConfig(sim, base, allTypes...)
	cfg.PageSize = 7 // several pages per type
	var c collector
	if err := sourcetest.RunOnce(t, newSource(t, cfg, clk), &c, checkpoint.NewMemory()); err != nil {
		t.Fatal(err)
	}
	truth := sim.Truth()
	if truth.Duplicates == 0 {
		t.Fatal("the simulator repeats no line: the test proves nothing")
	}
	sourcetest.CheckExactlyOnce(t, c.ids(), truth.EventIDs)

	lines := fileLines(t, sim, allTypes...)
	got := map[string][]pipeline.Event{}
	for _, ev := range c.events {
		got[ev.Type] = append(got[ev.Type], ev)
	}
	for _, typ := range allTypes {
		var want [][]byte
		seen := map[string]bool{}
		for _, l := range lines[typ] {
			if id := eventID(t, l); !seen[id] {
				seen[id] = true
				want = append(want, l)
			}
		}
		if len(got[typ]) != len(want) {
			t.Fatalf("%s: %d events, %d distinct records", typ, len(got[typ]), len(want))
		}
		for i, ev := range got[typ] {
			if ev.ID != eventID(t, want[i]) {
				t.Fatalf("%s: event %d is %s, file order says %s", typ, i, ev.ID, eventID(t, want[i]))
			}
			if len(contentPaths(typ, typ)) == 0 && !bytes.Equal(ev.Raw, want[i]) {
				t.Fatalf("%s: event %s changed:\n got %s\nwant %s", typ, ev.ID, ev.Raw, want[i])
			}
			if ev.Source != "acme" || ev.Time.IsZero() || ev.Schema != "chatgpt.compliance_log" || ev.ProjectID != sim.WorkspaceID() {
				t.Fatalf("%s: event %s not indexed: %+v", typ, ev.ID, ev)
			}
		}
	}
}

// TestEveryFaultKindAtTenPercent: with every fault the simulator has hitting
// a tenth of the requests (429 with and without Retry-After, 500, 502,
// 503, slow answers, listings in two documents, and downloads changed,
// cut or short), every record arrives exactly once and the key never
// reaches the download host.
func TestEveryFaultKindAtTenPercent(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	types := chatgptsim.KnownTypes[:5]
	sim, base := startSim(t, clk, chatgptsim.Options{Seed: 2, Types: types, Interval: 5 * time.Minute, SharedEnd: 0.2, DuplicateFraction: 0.3,
		Faults: chatgptsim.Faults{Rate: 0.1, RetryAfter: time.Second, SlowDelay: 20 * time.Millisecond}})
	cfg := testConfig(sim, base, types...)
	cfg.PageSize = 10
	var c collector
	if err := sourcetest.RunOnce(t, newSource(t, cfg, clk), &c, checkpoint.NewMemory()); err != nil {
		t.Fatal(err)
	}
	sourcetest.CheckExactlyOnce(t, c.ids(), sim.Truth().EventIDs)
	st := sim.Stats()
	for _, k := range chatgptsim.AllFaultKinds {
		if st.Faults[k] == 0 {
			t.Errorf("no %s fault happened: the test does not prove the source survives it", k)
		}
	}
	if st.AuthOnDownload != 0 {
		t.Fatalf("the key reached the download host %d times", st.AuthOnDownload)
	}
	t.Logf("faults %v", st.Faults)
}

// TestKeyNeverReachesDownloadHost: every download is made without the
// key, although the download host is another port of the API's host
// (where Go's redirect handling would forward it).
func TestKeyNeverReachesDownloadHost(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	sim, base := startSim(t, clk, chatgptsim.Options{Seed: 3, Types: []string{"AUDIT_LOG"}})
	cfg := testConfig(sim, base, "AUDIT_LOG")
	var c collector
	if err := sourcetest.RunOnce(t, newSource(t, cfg, clk), &c, checkpoint.NewMemory()); err != nil {
		t.Fatal(err)
	}
	st := sim.Stats()
	if n := st.Requests[chatgptsim.EndpointDownload][http.StatusOK]; n != int64(len(sim.Files("AUDIT_LOG"))) {
		t.Fatalf("%d downloads of %d files", n, len(sim.Files("AUDIT_LOG")))
	}
	if st.AuthOnDownload != 0 {
		t.Fatalf("the key reached the download host %d times", st.AuthOnDownload)
	}
	sourcetest.CheckExactlyOnce(t, c.ids(), sim.Truth().EventIDs)
}

// TestDownloadURLMustBeHTTPS: a signed URL in plain http on a host that
// is not this machine is refused before any request goes there.
func TestDownloadURLMustBeHTTPS(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	sim, base := startSim(t, clk, chatgptsim.Options{Seed: 3, Types: []string{"AUDIT_LOG"}})
	sim.SetDownloadBase("http://downloads.example")
	cfg := testConfig(sim, base, "AUDIT_LOG")
	store := checkpoint.NewMemory()
	var c collector
	err := sourcetest.RunOnce(t, newSource(t, cfg, clk), &c, store)
	if err == nil || !strings.Contains(err.Error(), "not https: refused") || !pipeline.IsPermanent(err) {
		t.Fatalf("err = %v; want the plain-http URL refused for good", err)
	}
	if len(c.ids()) != 0 {
		t.Fatal("events delivered")
	}
}

// corruptingProxy serves the simulator's download host at a URL of its
// own, changing one byte of every download of file id.
func corruptingProxy(t *testing.T, sim *chatgptsim.Server, id string) {
	t.Helper()
	rewritingDownloads(t, sim, id, func(body []byte) []byte {
		i := bytes.Index(body, []byte(`"timestamp":"2`)) + len(`"timestamp":"`)
		body[i] = '1' // the year 1026: valid JSON, same length
		return body
	})
}

// TestDigestMismatchCommitsNothingOfTheFile: a file whose download never
// matches its SHA-256 is retried, then reported; none of its records is
// delivered and no cursor saved passes it or stands inside it, while the
// files before it are delivered.
func TestDigestMismatchCommitsNothingOfTheFile(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	sim, base := startSim(t, clk, chatgptsim.Options{Seed: 4, Types: []string{"AUTH_LOG"}})
	files := sim.Files("AUTH_LOG")
	bad := files[len(files)/2]
	corruptingProxy(t, sim, bad.ID)
	cfg := testConfig(sim, base, "AUTH_LOG")
	cfg.MaxWindowEvents = 5 // windows inside files too
	cfg.MaxRetries = 2
	store := newSavingStore()
	var c collector
	err := sourcetest.RunOnce(t, newSource(t, cfg, clk), &c, store)
	if err == nil || !strings.Contains(err.Error(), bad.ID) || !strings.Contains(err.Error(), "SHA-256") {
		t.Fatalf("err = %v; want the file's digest named", err)
	}
	var badIDs, beforeIDs []string
	lines := fileLines(t, sim, "AUTH_LOG")["AUTH_LOG"]
	n := 0
	for _, f := range files {
		for range f.Lines {
			id := eventID(t, lines[n])
			n++
			switch {
			case f.ID == bad.ID:
				badIDs = append(badIDs, id)
			case f.EndTime.Before(bad.EndTime) && !slices.Contains(beforeIDs, id):
				beforeIDs = append(beforeIDs, id)
			}
		}
	}
	got := c.ids()
	for _, id := range badIDs {
		if slices.Contains(got, id) && !slices.Contains(beforeIDs, id) {
			t.Fatalf("event %s of the corrupt file was delivered", id)
		}
	}
	sourcetest.CheckExactlyOnce(t, got, beforeIDs)
	if len(store.saved) == 0 {
		t.Fatal("no cursor saved for the files before the bad one")
	}
	for _, raw := range store.saved {
		cur, err := decodeCursor(raw, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		tc := cur.Types["AUTH_LOG"]
		if slices.Contains(tc.Done, bad.ID) || !tc.EndTime.Before(bad.EndTime) || (tc.File != nil && tc.File.ID == bad.ID) {
			t.Fatalf("a cursor passes or enters the corrupt file: %s", raw)
		}
	}
}

// TestResumeInsideALargeFile stops the source at random points while a
// file of 20,000 lines is delivered, restarts it from the last committed
// cursor, and checks that every record arrives, with at most one window
// of duplicates per stop (a stop without drain loses the window in
// delivery) and none when each stop drains.
func TestResumeInsideALargeFile(t *testing.T) {
	for _, graceful := range []bool{false, true} {
		t.Run(map[bool]string{false: "kill", true: "graceful"}[graceful], func(t *testing.T) {
			clk := sourcetest.NewClock(t0)
			sim, base := startSim(t, clk, chatgptsim.Options{Seed: 5, Types: []string{"APP_AUTH_LOG"}, Interval: time.Hour,
				BigFiles: []chatgptsim.BigFile{{Type: "APP_AUTH_LOG", Index: 1, Lines: 20000}}, DuplicateFraction: 0.5})
			cfg := testConfig(sim, base, "APP_AUTH_LOG")
			cfg.MaxWindowEvents = 1000
			cfg.BatchSize = 250
			store := checkpoint.NewMemory()
			var c collector
			inBig := 0
			stops := sourcetest.Crashes(t, graceful, rand.New(rand.NewPCG(7, 8)), 8, func(f func(pipeline.Batch) error) { c.fail = f },
				func(ctx context.Context, drain time.Duration) error {
					if raw, _ := store.Load(t.Context(), "acme"); bytes.Contains(raw, []byte(`"file":`)) {
						inBig++ // this run resumes inside a file
					}
					return sourcetest.Run(ctx, newSource(t, cfg, clk), &c, store, true, drain)
				})
			if stops < 10 || inBig < 5 {
				t.Fatalf("only %d stops, %d resumed inside the large file", stops, inBig)
			}
			truth := sim.Truth()
			got := c.ids()
			dups := len(got) - len(truth.EventIDs)
			seen := map[string]bool{}
			for _, id := range got {
				seen[id] = true
			}
			for _, id := range truth.EventIDs {
				if !seen[id] {
					t.Fatalf("%s lost after %d stops", id, stops)
				}
			}
			if len(seen) != len(truth.EventIDs) {
				t.Fatalf("%d distinct ids delivered, the simulator has %d", len(seen), len(truth.EventIDs))
			}
			if graceful && dups != 0 {
				t.Fatalf("%d duplicates after %d graceful stops; want none", dups, stops)
			}
			if dups > stops*cfg.MaxWindowEvents {
				t.Fatalf("%d duplicates after %d stops: more than one window (%d) per stop", dups, stops, cfg.MaxWindowEvents)
			}
			t.Logf("%d records, %d stops (%d inside the large file), %d duplicates", len(truth.EventIDs), stops, inBig, dups)
		})
	}
}

// TestContent: by default no conversation text, and no secret anyone
// pasted, leaves the source (each is replaced by its SHA-256 and length);
// with keep_content every one arrives unchanged, every record byte for
// byte.
func TestContent(t *testing.T) {
	types := []string{"CONVERSATION_MESSAGE", "APP_LOG", "CUSTOM_AGENTS_LOG"}
	clk := sourcetest.NewClock(t0)
	sim, base := startSim(t, clk, chatgptsim.Options{Seed: 6, Types: types, Lines: 12})
	truth := sim.Truth()
	if len(truth.Messages) < 50 || len(truth.Secrets) < 10 {
		t.Fatalf("%d messages, %d secrets: too few to prove anything", len(truth.Messages), len(truth.Secrets))
	}
	lines := fileLines(t, sim, types...)

	t.Run("removed", func(t *testing.T) {
		var c collector
		if err := sourcetest.RunOnce(t, newSource(t, testConfig(sim, base, types...), clk), &c, checkpoint.NewMemory()); err != nil {
			t.Fatal(err)
		}
		sourcetest.CheckExactlyOnce(t, c.ids(), truth.EventIDs)
		var all bytes.Buffer
		texts := map[string]bool{}
		digests := map[string]bool{}
		for _, ev := range c.events {
			all.Write(ev.Raw)
			all.WriteByte('\n')
			var v any
			if err := json.Unmarshal(ev.Raw, &v); err != nil {
				t.Fatalf("event %s is not JSON: %v", ev.ID, err)
			}
			strs(v, texts)
			if ev.Type == "CONVERSATION_MESSAGE" {
				var m struct {
					Message struct {
						Content struct {
							Value struct {
								SHA256 string `json:"sha256"`
								Length int    `json:"length"`
							} `json:"value"`
						} `json:"content"`
					} `json:"message"`
				}
				json.Unmarshal(ev.Raw, &m)
				digests[m.Message.Content.Value.SHA256] = true
			}
		}
		for _, secret := range slices.Concat(truth.Messages, truth.Secrets) {
			quoted, _ := json.Marshal(secret)
			if texts[secret] || bytes.Contains(all.Bytes(), []byte(secret)) || bytes.Contains(all.Bytes(), quoted[1:len(quoted)-1]) {
				t.Fatalf("content left the source: %.80q", secret)
			}
			for s := range texts {
				if strings.Contains(s, secret) {
					t.Fatalf("content left the source inside %.80q", s)
				}
			}
		}
		for _, m := range truth.Messages {
			sum := sha256.Sum256([]byte(m))
			if !digests[hex.EncodeToString(sum[:])] {
				t.Fatalf("no event carries the digest of message %.40q", m)
			}
		}
	})
	t.Run("kept", func(t *testing.T) {
		cfg := testConfig(sim, base, types...)
		cfg.KeepContent = true
		var c collector
		if err := sourcetest.RunOnce(t, newSource(t, cfg, clk), &c, checkpoint.NewMemory()); err != nil {
			t.Fatal(err)
		}
		sourcetest.CheckExactlyOnce(t, c.ids(), truth.EventIDs)
		byID := map[string][]byte{}
		for _, typ := range types {
			for _, l := range lines[typ] {
				byID[eventID(t, l)] = l
			}
		}
		texts := map[string]bool{}
		for _, ev := range c.events {
			if !bytes.Equal(ev.Raw, byID[ev.ID]) {
				t.Fatalf("event %s changed:\n got %s\nwant %s", ev.ID, ev.Raw, byID[ev.ID])
			}
			var v any
			json.Unmarshal(ev.Raw, &v)
			strs(v, texts)
		}
		for _, m := range truth.Messages {
			if !texts[m] {
				t.Fatalf("message %.60q missing", m)
			}
		}
	})
}

// strs adds every string in v to out.
func strs(v any, out map[string]bool) {
	switch x := v.(type) {
	case string:
		out[x] = true
	case []any:
		for _, e := range x {
			strs(e, out)
		}
	case map[string]any:
		for _, e := range x {
			strs(e, out)
		}
	}
}

// TestTail: once caught up, the source polls and delivers the files that
// appear as the API's clock passes their end_time, each record once.
func TestTail(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	types := []string{"AUTH_LOG", "CODEX_LOG"}
	sim, base := startSim(t, clk, chatgptsim.Options{Seed: 8, Types: types, Interval: time.Minute, Start: t0.Add(-10 * time.Minute)})
	cfg := testConfig(sim, base, types...)
	var c collector
	counts := make(chan int, 1)
	c.notify = func(n int) {
		select {
		case counts <- n:
		default: // the waiter reads the count itself
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- sourcetest.Run(ctx, newSource(t, cfg, clk), &c, checkpoint.NewMemory(), false, time.Second)
	}()
	waitFor := func(want int) {
		t.Helper()
		timeout := time.After(time.Minute)
		for {
			select {
			case <-counts:
				if len(c.ids()) >= want {
					return
				}
			case err := <-done:
				t.Fatalf("the source stopped: %v", err)
			case <-timeout:
				t.Fatalf("%d events delivered, waiting for %d", len(c.ids()), want)
			}
		}
	}
	for step := range 4 {
		if step > 0 {
			clk.Add(3 * time.Minute) // new files appear
		}
		want := len(sim.Truth().EventIDs)
		waitFor(want)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	sourcetest.CheckExactlyOnce(t, c.ids(), sim.Truth().EventIDs)
}

// TestRefusedKeys: a wrong key, a key without the export scope, and a page
// size the API refuses each stop the source for good, with the API's
// message and what to do, and without the key in the error.
func TestRefusedKeys(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	sim, base := startSim(t, clk, chatgptsim.Options{Seed: 9, Types: []string{"AUDIT_LOG"}, UnscopedKeys: []string{"sk-unscoped-canary"}})
	tests := []struct {
		name string
		set  func(*Config)
		want []string
	}{
		{"401", func(c *Config) { c.APIKey = "sk-wrong-canary" }, []string{"(401)", "check api_key", "Incorrect API key"}},
		{"403", func(c *Config) { c.APIKey = "sk-unscoped-canary" }, []string{"(403)", "chatgpt.enterprise.compliance_export.read"}},
		{"422", func(c *Config) { c.PageSize = 101 }, []string{"(422)", "page_size (101)"}},
		{"404", func(c *Config) { c.WorkspaceID = "00000000-0000-0000-0000-000000000000" }, []string{"(404)", "workspace_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(sim, base, "AUDIT_LOG")
			tt.set(&cfg)
			s, err := NewSource(pipeline.Settings{Name: "acme"}, cfg, nil) // 422: past Validate
			if err != nil {
				t.Fatal(err)
			}
			s.now = clk.Now
			var c collector
			err = sourcetest.RunOnce(t, s, &c, checkpoint.NewMemory())
			if err == nil || !pipeline.IsPermanent(err) {
				t.Fatalf("err = %v; want a permanent error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v; want %q in it", err, w)
				}
			}
			if strings.Contains(err.Error(), "canary") {
				t.Fatalf("the key is in the error: %v", err)
			}
		})
	}
}

// TestCorruptCursor: a checkpoint that cannot be read or cannot be true
// stops the source with an error naming the checkpoint; nothing is read or
// delivered, and the checkpoint stays as it was.
func TestCorruptCursor(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	sim, base := startSim(t, clk, chatgptsim.Options{Seed: 10, Types: []string{"AUDIT_LOG"}})
	bad := map[string]string{
		"not JSON":         `{"v":1,"types":`,
		"another version":  `{"v":2,"types":{}}`,
		"no version":       `{"types":{}}`,
		"unknown key":      `{"v":1,"types":{},"seen":[]}`,
		"two objects":      `{"v":1,"types":{}}{}`,
		"type name":        `{"v":1,"types":{"audit log":{"end_time":"2026-07-09T10:00:00Z"}}}`,
		"null type":        `{"v":1,"types":{"AUDIT_LOG":null}}`,
		"no end_time":      `{"v":1,"types":{"AUDIT_LOG":{"done":["eclf_1"]}}}`,
		"future end_time":  `{"v":1,"types":{"AUDIT_LOG":{"end_time":"2027-07-09T10:00:00Z"}}}`,
		"negative line":    `{"v":1,"types":{"AUDIT_LOG":{"end_time":"2026-07-09T10:00:00Z","file":{"id":"eclf_1","end_time":"2026-07-09T10:10:00Z","line":-3}}}}`,
		"file before done": `{"v":1,"types":{"AUDIT_LOG":{"end_time":"2026-07-09T10:00:00Z","file":{"id":"eclf_1","end_time":"2026-07-09T09:00:00Z","line":3}}}}`,
		"file without id":  `{"v":1,"types":{"AUDIT_LOG":{"end_time":"2026-07-09T10:00:00Z","file":{"end_time":"2026-07-09T10:10:00Z","line":3}}}}`,
		"empty done id":    `{"v":1,"types":{"AUDIT_LOG":{"end_time":"2026-07-09T10:00:00Z","done":[""]}}}`,
		"done and open":    `{"v":1,"types":{"AUDIT_LOG":{"end_time":"2026-07-09T10:00:00Z","done":["eclf_1"],"file":{"id":"eclf_1","end_time":"2026-07-09T10:00:00Z","line":3}}}}`,
	}
	for name, raw := range bad {
		t.Run(name, func(t *testing.T) {
			store := checkpoint.NewMemory()
			store.Save(t.Context(), "acme", []byte(raw))
			var c collector
			err := sourcetest.RunOnce(t, newSource(t, testConfig(sim, base, "AUDIT_LOG"), clk), &c, store)
			if err == nil || !pipeline.IsPermanent(err) || !strings.Contains(err.Error(), "checkpoint") {
				t.Fatalf("err = %v; want the checkpoint refused", err)
			}
			if got, _ := store.Load(t.Context(), "acme"); string(got) != raw {
				t.Fatalf("the checkpoint changed to %s", got)
			}
			if len(c.ids()) != 0 {
				t.Fatal("events delivered")
			}
		})
	}
	if n := sim.Stats().Requests[chatgptsim.EndpointList]; len(n) != 0 {
		t.Fatalf("the API was asked %v", n)
	}
}
