// Command api measures a back-fill against what the vendor's API allows:
// the simulator, in its own process, answers each page after a log-normal
// delay (median 250 ms) and limits requests per second like a real API
// (429 with Retry-After, sometimes without); a sequential pager and
// `auditrelay run --once` with its default settings each fetch the whole
// organization, and the report compares their time with the limit's bound
// (pages / limit) and counts requests, 429s, peak memory, and events lost
// or duplicated.
//
//	go run ./test/bench/api [-events 30000] [-write BENCHMARKS.md]
//
// Scenarios: "limit" (20 requests/s), "nolimit" (latency only: the
// concurrency must grow), "change" (20/s, then 10/s, then 20/s again: the
// limiter must follow it down and back up).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/auditrelay/auditrelay/test/internal/benchkit"
)

// scenario is one simulated API.
type scenario struct {
	name       string
	rateLimit  string  // the simulator's --rate-limit ("" for none)
	rate       float64 // the limit most of the run, for the bound
	sequential bool    // also run the sequential pager
	scale      int     // times -events (a longer run)
}

var scenarios = []scenario{
	{name: "limit", rateLimit: "20", rate: 20, sequential: true, scale: 1},
	{name: "nolimit", scale: 1},
	// 20/s, 10/s from 10 s, 20/s from 25 s: long enough phases to see the
	// limiter settle in each.
	{name: "change", rateLimit: "20,10@10s,20@25s", rate: 20, scale: 2},
}

func main() {
	events := flag.Int("events", 30000, "audit events of the simulated organization")
	latency := flag.String("latency", "250ms", "the simulator's --latency")
	only := flag.String("scenarios", "limit,nolimit,change", "scenarios to run")
	write := flag.String("write", "", "rewrite the api section of this markdown file with the report")
	flag.Parse()
	if err := run(*events, *latency, *only, *write); err != nil {
		fmt.Fprintln(os.Stderr, "bench-api:", err)
		os.Exit(1)
	}
}

func run(events int, latency, only, write string) error {
	work, bins, err := benchkit.Build("bench-api-", map[string]string{"auditrelay": "./cmd/auditrelay", "barepager": "./test/bench/barepager"})
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin, pager := bins["auditrelay"], bins["barepager"]
	var rows []row
	var verdicts []string
	for _, sc := range scenarios {
		if !strings.Contains(","+only+",", ","+sc.name+",") {
			continue
		}
		r, v, err := runScenario(work, bin, pager, sc, events*sc.scale, latency)
		if err != nil {
			return fmt.Errorf("scenario %s: %w", sc.name, err)
		}
		rows = append(rows, r...)
		verdicts = append(verdicts, v...)
	}
	report := render(rows, verdicts, events, latency)
	fmt.Print(report)
	if write != "" {
		return benchkit.RewriteSection(write, "api", report)
	}
	return nil
}

// row is one program's run against one scenario.
type row struct {
	scenario, program string
	wall              time.Duration
	bound             time.Duration // pages / limit; 0 without a limit
	requests, limited int64
	pages, stretches  int
	rssMiB            float64
	lines, distinct   int
	want              int
	phases            []float64 // pages served per second near the end of each phase of "change"
}

// sim is a simulator process.
type sim struct {
	cmd  *exec.Cmd
	base string // http://host:port
}

func startSim(bin string, sc scenario, events int, latency string) (*sim, error) {
	args := []string{"simulate", "--listen", "127.0.0.1:0", "--events", fmt.Sprint(events), "--org-logs", "0",
		"--rate", "0", "--span", "720h", "--seed", "1", "--latency", latency}
	if sc.rateLimit != "" {
		args = append(args, "--rate-limit", sc.rateLimit)
	}
	cmd := exec.Command(bin, args...)
	out := &benchkit.Output{}
	cmd.Stdout, cmd.Stderr = out, io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	// The simulator says where it listens: it bound port 0 itself.
	addr, err := benchkit.SimulatorAddr(out, 30*time.Second)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, err
	}
	return &sim{cmd: cmd, base: "http://" + addr}, nil
}

func (s *sim) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
}

type simStats struct {
	Requests    int64 `json:"requests"`
	RateLimited int64 `json:"rate_limited"`
	Pages       int64 `json:"pages"`
	Events      int64 `json:"events"`
}

func (s *sim) stats() (simStats, error) {
	resp, err := http.Get(s.base + "/_sim/stats")
	if err != nil {
		return simStats{}, err
	}
	defer resp.Body.Close()
	var st simStats
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

func runScenario(work, bin, pager string, sc scenario, events int, latency string) ([]row, []string, error) {
	s, err := startSim(bin, sc, events, latency)
	if err != nil {
		return nil, nil, err
	}
	defer s.stop()
	var rows []row
	if sc.sequential {
		r, err := runPager(work, pager, s, sc)
		if err != nil {
			return nil, nil, err
		}
		rows = append(rows, r)
	}
	// A fresh simulator for auditrelay, so that the rate schedule starts
	// with it.
	s.stop()
	if s, err = startSim(bin, sc, events, latency); err != nil {
		return nil, nil, err
	}
	r, err := runRelay(work, bin, s, sc)
	if err != nil {
		return nil, nil, err
	}
	if len(rows) > 0 {
		r.want = rows[0].lines
	} else if r.want, err = referenceCount(work, bin, pager, events); err != nil {
		return nil, nil, err
	}
	rows = append(rows, r)
	return rows, verdicts(sc, rows), nil
}

// referenceCount is how many events the sequential pager reads from a
// simulator of the same events without latency or limit (a second or two):
// what auditrelay must deliver in a scenario that has no pager row.
func referenceCount(work, bin, pager string, events int) (int, error) {
	s, err := startSim(bin, scenario{}, events, "0s")
	if err != nil {
		return 0, err
	}
	defer s.stop()
	r, err := runPager(work, pager, s, scenario{})
	return r.lines, err
}

func runPager(work, pager string, s *sim, sc scenario) (row, error) {
	out := filepath.Join(work, "bare.jsonl")
	defer os.Remove(out)
	before, err := s.stats()
	if err != nil {
		return row{}, err
	}
	cmd := exec.Command(pager, "--base-url", s.base+"/v1", "--out", out)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return row{}, fmt.Errorf("sequential pager: %w", err)
	}
	wall := time.Since(t0)
	after, err := s.stats()
	if err != nil {
		return row{}, err
	}
	r := row{scenario: sc.name, program: "sequential pager", wall: wall, requests: after.Requests - before.Requests,
		limited: after.RateLimited - before.RateLimited, rssMiB: rss(cmd)}
	r.lines, r.distinct, err = countIDs(out)
	r.want = r.lines
	r.pages = (r.lines + 99) / 100
	r.bound = bound(sc, r.pages)
	return r, err
}

func runRelay(work, bin string, s *sim, sc scenario) (row, error) {
	dir := filepath.Join(work, "relay-"+sc.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return row{}, err
	}
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "auditrelay.yaml")
	// At debug, the planner logs each stretch it reads: a stretch costs
	// one request beyond its pages (its last, partial page).
	yaml := benchkit.BackfillConfig(s.base+"/v1", "transforms: []", "    type: file\n    path: audit.jsonl", "format: json\n  level: debug")
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		return row{}, err
	}
	before, err := s.stats()
	if err != nil {
		return row{}, err
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "run", "--once", "-c", cfg)
	cmd.Stdout, cmd.Stderr = io.Discard, &logs
	ctx, stopSampling := context.WithCancel(context.Background())
	samples := make(chan []sample, 1)
	go func() { samples <- sampleStats(ctx, s) }()
	t0 := time.Now()
	err = cmd.Run()
	wall := time.Since(t0)
	stopSampling()
	timeline := <-samples
	if err != nil {
		return row{}, fmt.Errorf("auditrelay run --once: %w\n%s", err, tail(logs.String(), 20))
	}
	after, err := s.stats()
	if err != nil {
		return row{}, err
	}
	r := row{scenario: sc.name, program: "auditrelay (defaults)", wall: wall, requests: after.Requests - before.Requests,
		limited: after.RateLimited - before.RateLimited, rssMiB: rss(cmd)}
	r.stretches = strings.Count(logs.String(), `"msg":"reading a stretch"`)
	r.lines, r.distinct, err = countIDs(filepath.Join(dir, "audit.jsonl"))
	r.pages = (r.lines + 99) / 100
	r.bound = bound(sc, r.pages)
	if sc.name == "change" {
		r.phases = phaseRates(timeline, t0)
	}
	return r, err
}

// bound is the least time the limit allows for pages requests.
func bound(sc scenario, pages int) time.Duration {
	switch sc.name {
	case "limit":
		return time.Duration(float64(pages) / sc.rate * float64(time.Second))
	case "change":
		// 10 s at 20/s, 15 s at 10/s, the rest at 20/s.
		rest := float64(pages) - 10*20 - 15*10
		if rest < 0 {
			return 0
		}
		return 25*time.Second + time.Duration(rest/20*float64(time.Second))
	}
	return 0
}

// sample is the simulator's counters at a moment.
type sample struct {
	at time.Time
	simStats
}

func sampleStats(ctx context.Context, s *sim) []sample {
	var out []sample
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		if st, err := s.stats(); err == nil {
			out = append(out, sample{time.Now(), st})
		}
		select {
		case <-ctx.Done():
			return out
		case <-t.C:
		}
	}
}

// changeLimits are the limits of the phases of the "change" schedule.
var changeLimits = []float64{20, 10, 20}

// phaseRates returns the pages served per second in the last 5 s of each
// phase of the "change" schedule (20/s until 10 s, 10/s until 25 s, 20/s
// after, its last 5 s taken from 35 s to 40 s); NaN for a phase the run
// did not reach.
func phaseRates(tl []sample, t0 time.Time) []float64 {
	rate := func(from, to time.Duration) float64 {
		var a, b *sample
		for i := range tl {
			d := tl[i].at.Sub(t0)
			if a == nil && d >= from {
				a = &tl[i]
			}
			if d <= to {
				b = &tl[i]
			}
		}
		if a == nil || b == nil || !b.at.After(a.at) {
			return math.NaN()
		}
		return float64(b.Pages-a.Pages) / b.at.Sub(a.at).Seconds()
	}
	return []float64{rate(5*time.Second, 10*time.Second), rate(20*time.Second, 25*time.Second), rate(35*time.Second, 40*time.Second)}
}

// slashed formats numbers as "a / b / c".
func slashed(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.1f", x)
	}
	return strings.Join(parts, " / ")
}

func rss(cmd *exec.Cmd) float64 {
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return float64(ru.Maxrss) / 1024
	}
	return 0
}

// countIDs counts the lines of path and their distinct ids.
func countIDs(path string) (lines, distinct int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var ev struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || ev.ID == "" {
			return 0, 0, errors.New("a line without an id")
		}
		lines++
		seen[ev.ID] = true
	}
	return lines, len(seen), sc.Err()
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}

// verdicts checks the targets of a scenario.
func verdicts(sc scenario, rows []row) []string {
	relay := rows[len(rows)-1]
	var out []string
	check := func(ok bool, format string, args ...any) {
		mark := "met"
		if !ok {
			mark = "NOT MET"
		}
		out = append(out, fmt.Sprintf("%s: %s: %s", sc.name, fmt.Sprintf(format, args...), mark))
	}
	if relay.bound > 0 {
		f := relay.wall.Seconds() / relay.bound.Seconds()
		check(f <= 1.3, "%.2fx the limit's bound (target <= 1.3x)", f)
	}
	if sc.sequential {
		f := rows[0].wall.Seconds() / relay.wall.Seconds()
		check(f >= 4, "%.1fx faster than the sequential pager (target >= 4x)", f)
	}
	ideal := relay.pages + relay.stretches
	check(float64(relay.requests) <= 1.05*float64(ideal), "%d requests for %d pages + %d stretches = %.3fx (target <= 1.05x)",
		relay.requests, relay.pages, relay.stretches, float64(relay.requests)/float64(ideal))
	check(float64(relay.limited) <= 0.05*float64(relay.requests), "%d 429s = %.1f%% of requests (target <= 5%%)",
		relay.limited, 100*float64(relay.limited)/float64(max(relay.requests, 1)))
	if len(relay.phases) > 0 {
		// The limiter follows the limit down (the 429s above) and back up:
		// near the end of each phase it takes most of what the limit allows.
		followed := len(relay.phases) == len(changeLimits)
		for i, r := range relay.phases {
			followed = followed && i < len(changeLimits) && r >= 0.75*changeLimits[i]
		}
		check(followed, "%s pages/s near the end of the phases limited to %s (target >= 0.75x each)", slashed(relay.phases), slashed(changeLimits))
	}
	check(relay.rssMiB <= 64, "peak RSS %.1f MiB (target <= 64 MiB)", relay.rssMiB)
	check(relay.lines == relay.distinct && relay.distinct == relay.want,
		"%d events written, %d distinct, %d expected (nothing lost or duplicated)", relay.lines, relay.distinct, relay.want)
	return out
}

func render(rows []row, verdicts []string, events int, latency string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "`go run ./test/bench/api -events %d -latency %s` (`make bench-api`), %s, commit %s, simulator in its own process:\n\n",
		events, latency, time.Now().UTC().Format("2006-01-02"), benchkit.Revision())
	b.WriteString("Scenarios: `limit` 20 requests/s; `nolimit` latency only; `change` 20/s, 10/s from 10 s, 20/s from 25 s, with twice the events.\n\n")
	b.WriteString("| scenario | program | wall s | bound s | requests | pages + stretches | 429s | peak RSS MiB | events (distinct) |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		bnd, ideal := "-", "-"
		if r.bound > 0 {
			bnd = fmt.Sprintf("%.1f", r.bound.Seconds())
		}
		if r.stretches > 0 {
			ideal = fmt.Sprintf("%d + %d", r.pages, r.stretches)
		}
		fmt.Fprintf(&b, "| %s | %s | %.1f | %s | %d | %s | %d | %.1f | %d (%d) |\n",
			r.scenario, r.program, r.wall.Seconds(), bnd, r.requests, ideal, r.limited, r.rssMiB, r.lines, r.distinct)
	}
	for _, r := range rows {
		if len(r.phases) > 0 {
			fmt.Fprintf(&b, "\nPages served per second by the simulator near the end of each phase of `change` (limit %s): %s.\n", slashed(changeLimits), slashed(r.phases))
		}
	}
	b.WriteString("\n")
	for _, v := range verdicts {
		fmt.Fprintf(&b, "- %s\n", v)
	}
	return b.String()
}
