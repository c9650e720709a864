package telemetry

import (
	"bufio"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata")

// driveEveryMethod calls each measurement once, so that every series
// auditrelay can expose exists.
func driveEveryMethod(tel *Telemetry) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tel.Begin([]string{"acme"}, []string{"archive"})
	tel.Running()
	tel.PageFetched("acme", 200, 20*time.Millisecond)
	tel.PageFetched("acme", 429, 20*time.Millisecond)
	tel.Retried("acme", "429", time.Second)
	tel.WindowCommitted("acme", 7, time.Second, now.Add(-time.Minute))
	tel.EventsFiltered("drop-reads", 2)
	tel.AlertsRaised("detect", "openai-admin-key-created", "high", 1)
	tel.SinkBatch("archive", 5, 500, 10*time.Millisecond, nil)
	tel.SinkBatch("archive", 5, 500, 10*time.Millisecond, errors.New("refused"))
	tel.DeadLettered("archive", 1)
	tel.InFlight(1)
	tel.Progress("acme", pipeline.Progress{Goal: now, Reached: now.Add(-time.Hour), Remaining: time.Minute, EventsPerSecond: 3})
	tel.InvalidEvents("acme", 1)
	tel.TransformDegraded("enrich", errors.New("directory unavailable"))
	tel.ReloadFailed(errors.New("bad config"))
	tel.SourceFailed("acme", errors.New("key refused"), time.Second)
	tel.SourceOwned("acme", true)
}

// exposition reduces a Prometheus text exposition to what a dashboard
// depends on: each family's "# TYPE" line and, for each sample, its name
// and the sorted names of its labels. Values, label values and HELP texts
// are left out: they change from run to run or may be improved freely.
func exposition(t *testing.T, r io.Reader) []string {
	t.Helper()
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "", strings.HasPrefix(line, "# HELP "), line == "# EOF":
			continue
		case strings.HasPrefix(line, "# TYPE "):
			seen[line] = true
			continue
		case strings.HasPrefix(line, "#"):
			t.Fatalf("unexpected comment line %q", line)
		}
		name, rest, _ := strings.Cut(line, "{")
		var labels []string
		if rest != "" && strings.Contains(line, "{") {
			body, _, ok := strings.Cut(rest, "} ")
			if !ok {
				t.Fatalf("cannot parse sample line %q", line)
			}
			for _, pair := range splitLabels(body) {
				k, _, _ := strings.Cut(pair, "=")
				labels = append(labels, k)
			}
		} else {
			name, _, _ = strings.Cut(line, " ")
		}
		slices.Sort(labels)
		seen[name+"{"+strings.Join(labels, ",")+"}"] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// splitLabels splits `a="x",b="y,z"` at the commas outside quotes.
func splitLabels(s string) []string {
	var parts []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	if start < len(s) {
		parts = append(parts, s[start:])
	}
	return parts
}

// TestMetricsExpositionKeepsNames guards users' dashboards and alerts:
// every metric name, type and label set that /metrics exposes in the
// Prometheus text format must stay. New series may be added (they are
// listed in the log); run with -update only to add them to the golden file
// on purpose, never to drop one.
func TestMetricsExpositionKeepsNames(t *testing.T) {
	tel, _ := newTest(t)
	driveEveryMethod(tel)
	srv := httptest.NewServer(tel.Handler(slog.New(slog.DiscardHandler)))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d", resp.StatusCode)
	}
	have := exposition(t, resp.Body)

	golden := filepath.Join("testdata", "metrics.golden")
	if *updateGolden {
		if err := os.WriteFile(golden, []byte(strings.Join(have, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSpace(string(b)), "\n")
	for _, w := range want {
		if !slices.Contains(have, w) {
			t.Errorf("/metrics lost %q", w)
		}
	}
	for _, h := range have {
		if !slices.Contains(want, h) {
			t.Logf("/metrics has a new %q", h)
		}
	}
}
