// Package sourcetest holds what the tests of the time-window sources
// (OpenAI's audit log, Anthropic's activity feed) share: a settable clock,
// a sink that records what it took, a run through the real engine, the
// exactly-once check, the contract every such source passes against its
// vendor's simulator (Contract), and what it does against a broken API
// (Stopped, and the scenarios built on it).
package sourcetest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Clock is a settable time source that a simulator and a source share.
type Clock struct{ ns atomic.Int64 }

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { c := &Clock{}; c.ns.Store(t.UnixNano()); return c }

// Now returns the clock's time, in UTC.
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) { c.ns.Add(int64(d)) }

// Collector is a sink that records what it took and can refuse a batch.
type Collector struct {
	mu      sync.Mutex
	IDs     []string
	Times   []time.Time
	Batches int
	// Fail, when set, sees each batch first; an error refuses it.
	Fail func(b pipeline.Batch) error
}

// Consume implements pipeline.Consumer.
func (c *Collector) Consume(_ context.Context, b pipeline.Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Fail != nil {
		if err := c.Fail(b); err != nil {
			return err
		}
	}
	c.Batches++
	for _, e := range b.Events {
		c.IDs = append(c.IDs, e.ID)
		c.Times = append(c.Times, e.Time)
	}
	return nil
}

// Windowed is a Collector that sees where windows end: SinceCommit counts
// the batches since the last CommitWindow (its Fail keeps the count).
type Windowed struct {
	*Collector
	SinceCommit int
}

// CommitWindow implements pipeline.Committer.
func (w *Windowed) CommitWindow(context.Context, string, []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.SinceCommit = 0
	return nil
}

// AbortWindow implements pipeline.Committer; it does nothing.
func (w *Windowed) AbortWindow(context.Context, string) error { return nil }

// Run runs s as the source "acme" through the engine into next, with a
// sink retry of milliseconds.
func Run(ctx context.Context, s pipeline.Source, next pipeline.Consumer, store pipeline.CursorStore, once bool, drain time.Duration) error {
	p := pipeline.Assemble(pipeline.Parts{
		Sources: map[string]pipeline.Source{"acme": s}, Sinks: map[string]pipeline.Consumer{"sink": next}, Store: store,
		Retry: pipeline.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 20 * time.Millisecond, Multiplier: 2}, DrainTimeout: drain,
	})
	return p.Run(ctx, pipeline.RunOptions{Once: once})
}

// RunOnce is Run with --once, bounded by two minutes.
func RunOnce(t *testing.T, s pipeline.Source, next pipeline.Consumer, store pipeline.CursorStore) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	return Run(ctx, s, next, store, true, time.Second)
}

// CheckExactlyOnce fails t unless got holds every id of want exactly once,
// and nothing else.
func CheckExactlyOnce(t *testing.T, got, want []string) {
	t.Helper()
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	var missing, dups []string
	for _, id := range want {
		if seen[id] == 0 {
			missing = append(missing, id)
		}
	}
	for id, n := range seen {
		if n > 1 {
			dups = append(dups, id)
		}
	}
	if len(missing) > 0 || len(dups) > 0 || len(got) != len(want) {
		t.Fatalf("delivered %d, want %d: %d missing (e.g. %v), %d duplicated (e.g. %v)",
			len(got), len(want), len(missing), head(missing), len(dups), head(dups))
	}
}

func head(s []string) []string { return s[:min(len(s), 3)] }

// Rewriting serves base through a proxy that replaces, in every answer's
// body, each pair's first bytes with its second, as a broken API might send
// them, and returns the proxy's URL (with base's path).
func Rewriting(t *testing.T, base string, pairs [][2][]byte) string {
	t.Helper()
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	proxy.ModifyResponse = func(r *http.Response) error {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		for _, p := range pairs {
			body = bytes.ReplaceAll(body, p[0], p[1])
		}
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)
	return front.URL + target.Path
}

// Spoiled serves base through Rewriting with each record of spoil changed,
// as a broken API might send it: what field matches in it replaced by the
// text spoil gives it. A record field does not match fails t.
func Spoiled(t *testing.T, base string, field *regexp.Regexp, spoil map[string]string) string {
	t.Helper()
	var pairs [][2][]byte
	for good, with := range spoil {
		bad := field.ReplaceAllLiteral([]byte(good), []byte(with))
		if string(bad) == good {
			t.Fatalf("%s: nothing matches %s to spoil", good, field)
		}
		pairs = append(pairs, [2][]byte{[]byte(good), bad})
	}
	return Rewriting(t, base, pairs)
}
