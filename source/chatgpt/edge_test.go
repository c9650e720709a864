package chatgpt

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
	"github.com/auditrelay/auditrelay/source/checkpoint"
	"github.com/auditrelay/auditrelay/source/internal/sourcetest"
)

// spoilingProxy serves the simulator's download host at a URL of its own,
// replacing lines of file id (by number, from 1) with the texts given.
func spoilingProxy(t *testing.T, sim *chatgptsim.Server, id string, spoil map[int]string) {
	t.Helper()
	rewritingDownloads(t, sim, id, func(body []byte) []byte {
		lines := bytes.SplitAfter(body, []byte("\n"))
		for n, text := range spoil {
			lines[n-1] = []byte(text + "\n")
		}
		return bytes.Join(lines, nil)
	})
}

// TestInvalidLines: lines that are not records stop the source at them by
// default, with the file and line named and what came before delivered;
// a restart stops there again and delivers nothing twice. With
// on_invalid_event: dead_letter they go to the dead-letter sink, without
// their content, and everything else is delivered.
func TestInvalidLines(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	sim, base := startSim(t, clk, chatgptsim.Options{Seed: 11, Types: []string{"CONVERSATION_MESSAGE"}, OmitFileDetails: true})
	files := sim.Files("CONVERSATION_MESSAGE")
	bad := files[3]
	spoilingProxy(t, sim, bad.ID, map[int]string{4: `secret words, not JSON {`, 9: `{"type":"CONVERSATION_MESSAGE","message":{"content":{"value":"secret words"}}}`})
	lines := fileLines(t, sim, "CONVERSATION_MESSAGE")["CONVERSATION_MESSAGE"]
	var before, spoiled []string
	n := 0
	for _, f := range files {
		for i := range f.Lines {
			id := eventID(t, lines[n])
			n++
			switch {
			case f.ID == bad.ID && (i+1 == 4 || i+1 == 9):
				spoiled = append(spoiled, id)
			case f.EndTime.Before(bad.EndTime) || (f.ID == bad.ID && i+1 < 4):
				before = append(before, id)
			}
		}
	}
	var want []string
	for _, id := range sim.Truth().EventIDs {
		if id != spoiled[0] && id != spoiled[1] {
			want = append(want, id)
		}
	}

	t.Run("stall", func(t *testing.T) {
		cfg := testConfig(sim, base, "CONVERSATION_MESSAGE")
		store := checkpoint.NewMemory()
		var c collector
		for range 2 {
			err := sourcetest.RunOnce(t, newSource(t, cfg, clk), &c, store)
			if err == nil || !strings.Contains(err.Error(), "file "+bad.ID+" (CONVERSATION_MESSAGE) line 4") || !strings.Contains(err.Error(), "on_invalid_event") {
				t.Fatalf("err = %v; want the file and line named", err)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("the line's content is in the error: %v", err)
			}
			sourcetest.CheckExactlyOnce(t, c.ids(), before)
		}
		raw, _ := store.Load(t.Context(), "acme")
		cur, err := decodeCursor(raw, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		if f := cur.Types["CONVERSATION_MESSAGE"].File; f == nil || f.ID != bad.ID || f.Line != 3 {
			t.Fatalf("the cursor is not at the line before: %s", raw)
		}
	})
	t.Run("dead_letter", func(t *testing.T) {
		cfg := testConfig(sim, base, "CONVERSATION_MESSAGE")
		cfg.OnInvalidEvent = InvalidDeadLetter
		var c, dead collector
		p := pipeline.Assemble(pipeline.Parts{
			Sources: map[string]pipeline.Source{"acme": newSource(t, cfg, clk)}, Sinks: map[string]pipeline.Consumer{"sink": &c},
			DeadLetter: &dead, Store: checkpoint.NewMemory(), DrainTimeout: time.Second,
		})
		if err := p.Run(t.Context(), pipeline.RunOptions{Once: true}); err != nil {
			t.Fatal(err)
		}
		sourcetest.CheckExactlyOnce(t, c.ids(), want)
		if len(dead.events) != 2 {
			t.Fatalf("%d dead letters, want 2", len(dead.events))
		}
		for i, ev := range dead.events {
			var entry struct {
				Source, Reason string
				Event          json.RawMessage
			}
			if err := json.Unmarshal(ev.Raw, &entry); err != nil {
				t.Fatal(err)
			}
			line := []string{"line 4", "line 9"}[i]
			if entry.Source != "acme" || !strings.Contains(entry.Reason, bad.ID) || !strings.Contains(entry.Reason, line) {
				t.Fatalf("dead letter %d: %s", i, ev.Raw)
			}
			if bytes.Contains(ev.Raw, []byte("secret")) || !bytes.Contains(entry.Event, []byte(`"sha256"`)) {
				t.Fatalf("dead letter %d carries the content: %s", i, ev.Raw)
			}
		}
	})
}

// TestSignedURLRefused: a signed URL the download host refuses (expired)
// is asked for again, and nothing is lost.
func TestSignedURLRefused(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	sim, base := startSim(t, clk, chatgptsim.Options{Seed: 12, Types: []string{"AUTH_LOG"}})
	var mu sync.Mutex
	refused := map[string]bool{}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		first := !refused[r.URL.Path]
		refused[r.URL.Path] = true
		mu.Unlock()
		if first {
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte("AuthenticationFailed: Signed expiry time has passed.\n"))
			return
		}
		sim.DownloadHandler().ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	sim.SetDownloadBase(front.URL)
	cfg := testConfig(sim, base, "AUTH_LOG")
	cfg.MaxRetries = 1
	var c collector
	if err := sourcetest.RunOnce(t, newSource(t, cfg, clk), &c, checkpoint.NewMemory()); err != nil {
		t.Fatal(err)
	}
	sourcetest.CheckExactlyOnce(t, c.ids(), sim.Truth().EventIDs)
	files := len(sim.Files("AUTH_LOG"))
	if n := sim.Stats().Requests[chatgptsim.EndpointFile][http.StatusTemporaryRedirect]; n != int64(2*files) || len(refused) != files {
		t.Fatalf("%d signed URLs asked for %d files (%d refused)", n, files, len(refused))
	}
}

// goneProxy serves sim, except that the download of file id answers 404
// while gone is true, dated by the simulator's clock as the API would.
func goneProxy(t *testing.T, sim *chatgptsim.Server, clk *sourcetest.Clock, id string, gone *atomic.Bool) *httptest.Server {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gone.Load() && strings.HasSuffix(r.URL.Path, "/"+id) {
			w.Header().Set("Date", clk.Now().Format(http.TimeFormat))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":{"code":"not_found","message":"No log file."}}`))
			return
		}
		sim.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(api.Close)
	return api
}

// withoutFirstFile returns the simulator's event ids less those of the
// first file of type typ, as listed.
func withoutFirstFile(t *testing.T, sim *chatgptsim.Server, typ string) []string {
	gone := sim.Files(typ)[0]
	goneIDs := map[string]bool{}
	for _, l := range fileLines(t, sim, typ)[typ][:gone.Lines] {
		goneIDs[eventID(t, l)] = true
	}
	var want []string
	for _, id := range sim.Truth().EventIDs {
		if !goneIDs[id] {
			want = append(want, id)
		}
	}
	return want
}

// TestGoneFileAtRetentionEndIsSkipped: a file listed and gone before its
// download, at the end of its 30 days, expired in between: it is reported
// and passed, and the source goes on.
func TestGoneFileAtRetentionEndIsSkipped(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	// Files of 6 days from 40 days back: the first ends about 34 days ago.
	start := t0.Add(-40 * 24 * time.Hour)
	sim, _ := startSim(t, clk, chatgptsim.Options{Seed: 13, Types: []string{"AUDIT_LOG"},
		Start: start, Interval: 6 * 24 * time.Hour, Lines: 5})
	gone := sim.Files("AUDIT_LOG")[0]
	// The API's clock: the first file is 6 hours from the end of its
	// retention.
	clk.Add(gone.EndTime.Add(retention - 6*time.Hour).Sub(clk.Now()))
	if n := len(sim.Files("AUDIT_LOG")); n < 3 {
		t.Fatalf("%d files visible; the test needs some after the gone one", n)
	}
	var on atomic.Bool
	on.Store(true)
	api := goneProxy(t, sim, clk, gone.ID, &on)
	var logs bytes.Buffer
	cfg := testConfig(sim, api.URL+"/v1/compliance", "AUDIT_LOG")
	cfg.StartAt.Time = start.Add(-time.Hour)
	s := newSource(t, cfg, clk)
	s.log = slog.New(slog.NewTextHandler(&logs, nil))
	var c collector
	if err := sourcetest.RunOnce(t, s, &c, checkpoint.NewMemory()); err != nil {
		t.Fatal(err)
	}
	sourcetest.CheckExactlyOnce(t, c.ids(), withoutFirstFile(t, sim, "AUDIT_LOG"))
	if !strings.Contains(logs.String(), gone.ID) || !strings.Contains(logs.String(), "level=WARN") {
		t.Fatalf("the gone file is not reported:\n%s", logs.String())
	}
}

// TestGoneYoungFileIsNotSkipped: a listed file far from the end of its
// retention that answers 404 is an error of the API, not an expiry: the
// source fails without moving its checkpoint past the file, and reads it
// once the API serves it again. Nothing is lost.
func TestGoneYoungFileIsNotSkipped(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	sim, _ := startSim(t, clk, chatgptsim.Options{Seed: 13, Types: []string{"AUDIT_LOG"}})
	gone := sim.Files("AUDIT_LOG")[0]
	var on atomic.Bool
	on.Store(true)
	api := goneProxy(t, sim, clk, gone.ID, &on)
	cfg := testConfig(sim, api.URL+"/v1/compliance", "AUDIT_LOG")
	store := checkpoint.NewMemory()
	var c collector
	err := sourcetest.RunOnce(t, newSource(t, cfg, clk), &c, store)
	if err == nil || !strings.Contains(err.Error(), gone.ID) || !strings.Contains(err.Error(), "not skipped") {
		t.Fatalf("err = %v; want the young file's 404 reported", err)
	}
	if ids := c.ids(); len(ids) != 0 {
		t.Fatalf("%d events delivered past the unread first file", len(ids))
	}
	on.Store(false)
	if err := sourcetest.RunOnce(t, newSource(t, cfg, clk), &c, store); err != nil {
		t.Fatal(err)
	}
	sourcetest.CheckExactlyOnce(t, c.ids(), sim.Truth().EventIDs)
}

// TestPageTooSmallToPassABoundary: the API lists the file at `after`
// again, so a page of one file cannot move; the source says to raise
// page_size instead of asking forever.
func TestPageTooSmallToPassABoundary(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	sim, base := startSim(t, clk, chatgptsim.Options{Seed: 14, Types: []string{"AUDIT_LOG"}})
	cfg := testConfig(sim, base, "AUDIT_LOG")
	cfg.PageSize = 1
	var c collector
	err := sourcetest.RunOnce(t, newSource(t, cfg, clk), &c, checkpoint.NewMemory())
	if err == nil || !strings.Contains(err.Error(), "raise it") || !strings.Contains(err.Error(), "page_size (1)") {
		t.Fatalf("err = %v; want page_size named", err)
	}
	if n := sim.Stats().Requests[chatgptsim.EndpointList][http.StatusOK]; n > 5 {
		t.Fatalf("%d listings before giving up", n)
	}
}

// TestOldStartAtWarnsOnce: a start_at older than the API keeps files is
// accepted, and said once, not at every restart.
func TestOldStartAtWarnsOnce(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	sim, base := startSim(t, clk, chatgptsim.Options{Seed: 15, Types: []string{"AUTH_LOG"}})
	cfg := testConfig(sim, base, "AUTH_LOG")
	cfg.StartAt.Time = t0.Add(-45 * 24 * time.Hour)
	s := newSource(t, cfg, clk)
	var logs bytes.Buffer
	s.log = slog.New(slog.NewTextHandler(&logs, nil))
	for range 2 {
		var c collector
		if err := sourcetest.RunOnce(t, s, &c, checkpoint.NewMemory()); err != nil {
			t.Fatal(err)
		}
		sourcetest.CheckExactlyOnce(t, c.ids(), sim.Truth().EventIDs)
	}
	if n := strings.Count(logs.String(), "further back than the API keeps files"); n != 1 {
		t.Fatalf("%d retention warnings:\n%s", n, logs.String())
	}
}

// TestNoDetailsTruncatedDownloads: without file_size and file_sha256 in
// the listing, a download cut short is still noticed and done again.
func TestNoDetailsTruncatedDownloads(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	sim, base := startSim(t, clk, chatgptsim.Options{Seed: 16, Types: []string{"APP_LOG", "AUTH_LOG"}, OmitFileDetails: true,
		Faults: chatgptsim.Faults{Rate: 0.3, Kinds: []chatgptsim.FaultKind{chatgptsim.FaultTruncate}}})
	cfg := testConfig(sim, base, "APP_LOG", "AUTH_LOG")
	var c collector
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := sourcetest.Run(ctx, newSource(t, cfg, clk), &c, checkpoint.NewMemory(), true, time.Second); err != nil {
		t.Fatal(err)
	}
	sourcetest.CheckExactlyOnce(t, c.ids(), sim.Truth().EventIDs)
	if sim.Stats().Faults[chatgptsim.FaultTruncate] == 0 {
		t.Fatal("no download was cut")
	}
}

// TestHTTPS: both hosts over TLS, trusted through tls.ca_file, with a
// server_name set for the API.
func TestHTTPS(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	sim, _ := startSim(t, clk, chatgptsim.Options{Seed: 17, Types: []string{"AUTH_LOG"}})
	api := httptest.NewTLSServer(sim.Handler())
	t.Cleanup(api.Close)
	dl := httptest.NewUnstartedServer(sim.DownloadHandler())
	dl.TLS = api.TLS // the same certificate: example.com and 127.0.0.1
	dl.StartTLS()
	t.Cleanup(dl.Close)
	sim.SetDownloadBase(dl.URL)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(sim, api.URL+"/v1/compliance", "AUTH_LOG")
	cfg.TLS.CAFile = ca
	cfg.TLS.ServerName = "example.com"
	var c collector
	if err := sourcetest.RunOnce(t, newSource(t, cfg, clk), &c, checkpoint.NewMemory()); err != nil {
		t.Fatal(err)
	}
	sourcetest.CheckExactlyOnce(t, c.ids(), sim.Truth().EventIDs)
}
