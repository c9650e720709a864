package chatgpt

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim/chatgptsimtest"
	"github.com/auditrelay/auditrelay/source/checkpoint"
	"github.com/auditrelay/auditrelay/source/internal/sourcetest"
)

const testKey = "sk-compliance-canary-7f3a"

var t0 = time.Date(2026, 7, 9, 12, 0, 0, 0, time.UTC)

// startSim serves a simulator of o over real HTTP on two loopback
// listeners, with the test key, the export beginning 6 hours before t0 and
// clk as its clock.
func startSim(t *testing.T, clk *sourcetest.Clock, o chatgptsim.Options) (*chatgptsim.Server, string) {
	t.Helper()
	if o.APIKey == "" {
		o.APIKey = testKey
	}
	if o.Start.IsZero() {
		o.Start = t0.Add(-6 * time.Hour)
	}
	o.Now = clk.Now
	return chatgptsimtest.Start(t, o)
}

// testConfig reads the simulator at base from before its first file, with
// short retries.
func testConfig(sim *chatgptsim.Server, base string, types ...string) Config {
	c := *DefaultConfig()
	c.BaseURL = base
	c.APIKey = testKey
	c.WorkspaceID = sim.WorkspaceID()
	if len(types) > 0 {
		c.EventTypes = types
	}
	c.StartAt.Time, c.StartAt.Ago = t0.Add(-7*time.Hour), 0
	c.RetryWaitMin = time.Millisecond
	c.RetryWaitMax = 10 * time.Millisecond
	c.MaxServerWait = 10 * time.Millisecond
	c.Timeout = 10 * time.Second
	c.DownloadTimeout = 30 * time.Second
	c.PollInterval = 10 * time.Millisecond
	c.MaxWindowEvents = 300
	c.BatchSize = 70
	return c
}

// rewritingDownloads serves the simulator's download host at a URL of its
// own, passing the body of every successful download of file id through
// change, as a broken host might send it.
func rewritingDownloads(t *testing.T, sim *chatgptsim.Server, id string, change func(body []byte) []byte) {
	t.Helper()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.Path, id) {
			sim.DownloadHandler().ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		sim.DownloadHandler().ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if rec.Code == http.StatusOK {
			body = change(body)
		}
		maps.Copy(w.Header(), rec.Header())
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		w.Write(body)
	}))
	t.Cleanup(front.Close)
	sim.SetDownloadBase(front.URL)
}

// newSource builds the source of cfg, validated, on clk.
func newSource(t *testing.T, cfg Config, clk *sourcetest.Clock) *Source {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := NewSource(pipeline.Settings{Name: "acme"}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.now = clk.Now
	return s
}

// collector is a sink that keeps what it was given and can fail.
type collector struct {
	mu     sync.Mutex
	events []pipeline.Event
	fail   func(b pipeline.Batch) error
	// notify, when set, is called with the number of events so far after
	// each batch.
	notify func(n int)
}

func (c *collector) Consume(_ context.Context, b pipeline.Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		if err := c.fail(b); err != nil {
			return err
		}
	}
	for _, ev := range b.Events {
		ev.Raw = bytes.Clone(ev.Raw)
		c.events = append(c.events, ev)
	}
	if c.notify != nil {
		c.notify(len(c.events))
	}
	return nil
}

func (c *collector) ids() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.events))
	for i, ev := range c.events {
		out[i] = ev.ID
	}
	return out
}

// savingStore is a memory store that keeps every cursor saved.
type savingStore struct {
	*checkpoint.Memory
	mu    sync.Mutex
	saved [][]byte
}

func newSavingStore() *savingStore { return &savingStore{Memory: checkpoint.NewMemory()} }

func (s *savingStore) Save(ctx context.Context, source string, cursor []byte) error {
	s.mu.Lock()
	s.saved = append(s.saved, bytes.Clone(cursor))
	s.mu.Unlock()
	return s.Memory.Save(ctx, source, cursor)
}

// fileLines returns the lines of every visible file of the types, as the
// download host serves them, file by file in listing order.
func fileLines(t *testing.T, sim *chatgptsim.Server, types ...string) map[string][][]byte {
	t.Helper()
	out := map[string][][]byte{}
	for _, typ := range types {
		for _, f := range sim.Files(typ) {
			var buf bytes.Buffer
			if ok, err := sim.WriteFile(&buf, f.ID); !ok || err != nil {
				t.Fatalf("file %s: %v %v", f.ID, ok, err)
			}
			sc := bufio.NewScanner(&buf)
			sc.Buffer(nil, 64<<20)
			for sc.Scan() {
				out[typ] = append(out[typ], bytes.Clone(sc.Bytes()))
			}
		}
	}
	return out
}

// eventID reads a line's event_id.
func eventID(t *testing.T, line []byte) string {
	t.Helper()
	var v struct {
		EventID string `json:"event_id"`
	}
	if err := json.Unmarshal(line, &v); err != nil || v.EventID == "" {
		t.Fatalf("line without event_id: %s", line)
	}
	return v.EventID
}

func head(s []string) []string { return s[:min(len(s), 3)] }
