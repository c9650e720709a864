package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/openai/openaisim"
)

// termBuffer is a stderr that says it is a terminal, so that the commands
// draw their progress into it.
type termBuffer struct{ bytes.Buffer }

func (*termBuffer) IsTerminal() bool { return true }

func TestProgressCoveredAndTimeLeft(t *testing.T) {
	until := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	since := until.Add(-100 * time.Hour)
	for _, tc := range []struct {
		name     string
		oldest   time.Time
		frac0    float64
		elapsed  time.Duration
		wantFrac float64
		wantLeft time.Duration // 0: no estimate
	}{
		{"nothing read", time.Time{}, 0, 10 * time.Second, 0, 0},
		// The report that led here: the first pages held most events,
		// but only 6% of the range was read after 20 s.
		{"6% of the range in 20s", until.Add(-6 * time.Hour), 0, 20 * time.Second, 0.06, 313333 * time.Millisecond},
		{"half in 10s", until.Add(-50 * time.Hour), 0, 10 * time.Second, 0.5, 10 * time.Second},
		{"resumed at 40%, 60% after 10s", until.Add(-60 * time.Hour), 0.4, 10 * time.Second, 0.6, 20 * time.Second},
		{"too early: 1s", until.Add(-50 * time.Hour), 0, time.Second, 0.5, 0},
		{"too early: under 1% this run", until.Add(-40*time.Hour - 30*time.Minute), 0.4, time.Minute, 0.405, 0},
		{"an event before since", since.Add(-time.Hour), 0, 10 * time.Second, 1, 0},
		{"an event after until", until.Add(time.Minute), 0, 10 * time.Second, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frac := covered(since, until, tc.oldest)
			if d := frac - tc.wantFrac; d > 1e-9 || d < -1e-9 {
				t.Fatalf("covered %v, want %v", frac, tc.wantFrac)
			}
			left, ok := timeLeft(tc.frac0, frac, tc.elapsed)
			if ok != (tc.wantLeft != 0) || (left-tc.wantLeft).Abs() > time.Millisecond {
				t.Fatalf("time left %v (%v), want %v", left, ok, tc.wantLeft)
			}
		})
	}
	if f := covered(until, until, until.Add(-time.Hour)); f != 0 {
		t.Fatalf("empty range: covered %v", f)
	}
}

func TestProgressRender(t *testing.T) {
	until := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	since := until.Add(-100 * time.Hour)
	p := newWalkProgress(nil, "export", true, since, until, 0, 0, time.Time{})
	p.events, p.pages = 2900, 29
	if got, want := p.render(0, false), "export: 2900 events, 29 pages [....................]   0%"; got != want {
		t.Fatalf("before any event:\n got %q\nwant %q", got, want)
	}
	p.oldest = until.Add(-25 * time.Hour)
	if got, want := p.render(10*time.Second, false), "export: 2900 events, 29 pages, 290 events/s, back to 2026-04-29 23:00 [#####...............]  25% ETA 30s"; got != want {
		t.Fatalf("a quarter in 10s:\n got %q\nwant %q", got, want)
	}
	if got, want := p.render(12*time.Second, true), "export: 2900 events, 29 pages, 242 events/s, back to 2026-04-29 23:00 [####################] 100%"; got != want {
		t.Fatalf("complete:\n got %q\nwant %q", got, want)
	}
	// A resumed export: the rate and the pace count this run only.
	r := newWalkProgress(nil, "export", true, since, until, 1000, 10, until.Add(-50*time.Hour))
	r.events, r.pages, r.oldest = 1500, 15, until.Add(-75*time.Hour)
	if got, want := r.render(5*time.Second, false), "export: 1500 events, 15 pages, 100 events/s, back to 2026-04-27 21:00 [###############.....]  75% ETA 5s"; got != want {
		t.Fatalf("resumed:\n got %q\nwant %q", got, want)
	}

	// Drawn in place on a terminal, ended by finish; nothing elsewhere.
	var term bytes.Buffer
	d := newWalkProgress(&term, "stats", true, since, until, 0, 0, time.Time{})
	clock := d.start
	d.now = func() time.Time { return clock }
	d.update(100, 1, until.Add(-time.Hour))
	clock = clock.Add(progressEvery - 1)
	d.update(200, 2, until.Add(-2*time.Hour)) // too soon: not drawn
	clock = clock.Add(1)
	d.update(300, 3, until.Add(-3*time.Hour))
	d.finish(true)
	lines := strings.Split(term.String(), "\r\033[K")
	if len(lines) != 4 || !strings.HasPrefix(lines[1], "stats: 100 events, 1 pages") || !strings.HasPrefix(lines[2], "stats: 300 events, 3 pages") ||
		!strings.HasSuffix(lines[3], "100%\n") {
		t.Fatalf("drawn: %q", term.String())
	}
	var off bytes.Buffer
	o := newWalkProgress(&off, "stats", false, since, until, 0, 0, time.Time{})
	o.update(100, 1, until.Add(-time.Hour))
	o.finish(true)
	if off.Len() != 0 {
		t.Fatalf("drawn while off: %q", off.String())
	}
}

// TestStatsProgress runs stats with a stderr that is a terminal: it must
// draw how far it read, and leave stdout to the result.
func TestStatsProgress(t *testing.T) {
	sim, base := querySim(t, openaisim.Faults{}, nil)
	n := len(sim.VisibleLogIDs(time.Now().Add(time.Hour)))
	var out bytes.Buffer
	var errb termBuffer
	m := &Main{Stdout: &out, Stderr: &errb, Environ: []string{"OPENAI_ADMIN_KEY=" + queryKey}}
	if code := m.Run(context.Background(), []string{"stats", "--api", "requests", "--base-url", base, "--since", "3d", "-o", "json"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var res struct{ Total int }
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || res.Total != n {
		t.Fatalf("stdout is not the result alone (%v, total %d, want %d):\n%s", err, res.Total, n, out.String())
	}
	draws := strings.Split(errb.String(), "\r\033[K")
	if len(draws) < 3 {
		t.Fatalf("progress on stderr:\n%q", errb.String())
	}
	first, last := draws[1], draws[len(draws)-1]
	if !strings.HasPrefix(first, "stats: 100 events, 1 pages") || !strings.Contains(first, "back to ") ||
		!strings.Contains(last, "pages") || !strings.HasSuffix(last, "[####################] 100%\n") {
		t.Fatalf("progress on stderr:\n%q", errb.String())
	}
	// Not a terminal: nothing but the result.
	_, errs, code := runCLI(context.Background(), "stats", "--api", "requests", "--base-url", base, "--since", "3d")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}
