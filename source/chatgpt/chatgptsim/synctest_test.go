package chatgptsim_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
	"github.com/auditrelay/auditrelay/source/internal/pipenet"
)

// serveInBubble serves a simulator of o on two pipenet listeners, in the
// bubble of t, and returns it, its workspace's logs URL and a client that
// reaches both hosts (and drops its key on redirects).
func serveInBubble(t *testing.T, o chatgptsim.Options) (*chatgptsim.Server, string, *http.Client) {
	t.Helper()
	o.APIKey = key
	sim := chatgptsim.New(o)
	api, dl := pipenet.Listen("api.sim.invalid:80"), pipenet.Listen("files.sim.invalid:80")
	base, err := sim.Serve(api, dl)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{DialContext: pipenet.Dialer(api, dl)}, CheckRedirect: keyless.CheckRedirect}
	t.Cleanup(func() {
		c.CloseIdleConnections()
		sim.Close()
	})
	return sim, base + "/workspaces/" + sim.WorkspaceID() + "/logs", c
}

// TestLatencyIsLogNormalAndSeeded: on the bubble's clock every answer
// takes a draw of the distribution, the same draws for the same seed.
func TestLatencyIsLogNormalAndSeeded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lat := chatgptsim.Latency{Median: 200 * time.Millisecond, P99: 2 * time.Second}
		took := func() []time.Duration {
			_, logs, c := serveInBubble(t, chatgptsim.Options{Seed: 40, Latency: lat})
			var ds []time.Duration
			for range 101 {
				begin := time.Now()
				if code, _, b := get(t, c, logs, url.Values{"event_type": {"AUDIT_LOG"}, "limit": {"1"}}); code != 200 {
					t.Fatalf("status %d: %s", code, b)
				}
				ds = append(ds, time.Since(begin))
			}
			return ds
		}
		a, b := took(), took()
		if !slices.Equal(a, b) {
			t.Fatal("the same seed drew other delays")
		}
		slices.Sort(a)
		if med := a[50]; med < 120*time.Millisecond || med > 330*time.Millisecond || a[0] == a[100] || a[100] > 10*time.Second {
			t.Fatalf("delays from %s to %s, median %s: want a spread around 200ms", a[0], a[100], med)
		}
		// The download host waits too: the redirect and the file are a
		// draw each.
		sim, logs, c := serveInBubble(t, chatgptsim.Options{Seed: 41, Latency: chatgptsim.Latency{Median: time.Second, P99: time.Second}})
		begin := time.Now()
		if code, _, _ := get(t, c, logs+"/"+sim.Files("AUDIT_LOG")[0].ID, nil); code != 200 || time.Since(begin) != 2*time.Second {
			t.Fatalf("download: status %d after %s, want 2s", code, time.Since(begin))
		}
	})
}

// TestSlowFaultWaitsThenAnswers, and stops waiting when the client gives
// up.
func TestSlowFaultWaitsThenAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim, logs, c := serveInBubble(t, chatgptsim.Options{Seed: 42,
			Faults: chatgptsim.Faults{Rate: 1, Kinds: []chatgptsim.FaultKind{chatgptsim.FaultSlow}, SlowDelay: 3 * time.Second}})
		begin := time.Now()
		if code, _, b := get(t, c, logs, url.Values{"event_type": {"AUDIT_LOG"}}); code != 200 || time.Since(begin) != 3*time.Second {
			t.Fatalf("status %d after %s: %s", code, time.Since(begin), b)
		}
		// A download is slowed twice: the redirect and the file.
		f := sim.Files("AUDIT_LOG")[0]
		begin = time.Now()
		if code, _, _ := get(t, c, logs+"/"+f.ID, nil); code != 200 || time.Since(begin) != 6*time.Second {
			t.Fatalf("download: status %d after %s", code, time.Since(begin))
		}
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, logs+"?event_type=AUDIT_LOG", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		begin = time.Now()
		if _, err := c.Do(req); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v, want the client's deadline", err)
		}
		synctest.Wait()
		if n := sim.Stats().Requests[chatgptsim.EndpointList][chatgptsim.StatusClientGone]; n != 1 || time.Since(begin) != 100*time.Millisecond {
			t.Fatalf("%d requests counted as given up, %s later", n, time.Since(begin))
		}
		if n := sim.Stats().Faults[chatgptsim.FaultSlow]; n != 4 {
			t.Fatalf("%d slow faults", n)
		}
	})
}
