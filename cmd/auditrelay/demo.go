package main

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/auditrelay/auditrelay/config"
	"github.com/auditrelay/auditrelay/pipeline"
)

// demoConfig is the embedded default: the simulator as source, a readable
// summary on stdout and the JSON lines in a file. %s is the simulator URL,
// the second the output file.
const demoConfig = `
sources:
  - name: demo-org
    type: openai_audit_logs
    base_url: %s
    api_key: ${env:OPENAI_ADMIN_KEY}
    start_at: 25h
    poll_interval: 1s
    settle: 0s
    overlap: 10s
    max_window_events: 500
    batch_size: 50
sinks:
  - name: screen
    type: file
    path: "-"
    format: text
    fsync: false
  - name: archive
    type: file
    path: %s
checkpoint:
  type: memory
`

func (m *Main) cmdDemo(ctx context.Context, args []string) int {
	fs := m.flags("demo", "[--events N]")
	events := fs.Int("events", 60, "stop after this many events have been delivered (0: run until Ctrl-C)")
	out := fs.String("out", "", "also write the events as JSON lines to this `file` (default: a temporary file)")
	faults := fs.Float64("faults", 0.05, "fraction of simulator requests that fail, to show the retries")
	level := fs.String("log-level", "warn", "log level on stderr")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	backlog := *events * 3 / 4
	if *events == 0 {
		backlog = 200
	}
	sf := simFlags{seed: time.Now().UnixNano(), events: backlog, span: 24 * time.Hour, rate: 4, faultRate: *faults,
		faultKinds: "429,500,503,truncated,garbled", retryAfter: 200 * time.Millisecond}
	sim, err := sf.server()
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay demo: %v\n", err)
		return exitFailure
	}
	base, err := sim.Start()
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay demo: %v\n", err)
		return exitFailure
	}
	defer sim.Close()

	archive := *out
	if archive == "" {
		f, err := os.CreateTemp("", "auditrelay-demo-*.jsonl")
		if err != nil {
			fmt.Fprintf(m.Stderr, "auditrelay demo: %v\n", err)
			return exitFailure
		}
		f.Close()
		archive = f.Name()
	}
	reg, err := components()
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay demo: %v\n", err)
		return exitFailure
	}
	env := append(append([]string{}, m.Environ...), "OPENAI_ADMIN_KEY=sk-admin-demo")
	cfg, err := config.Parse(fmt.Appendf(nil, demoConfig, base, archive), ".", reg, env)
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay demo: embedded config: %v\n", err)
		return exitFailure
	}
	log := m.newLogger(*level, "text")
	fmt.Fprintf(m.Stdout, "auditrelay demo: simulated organization at %s (%d past events, then 4 new per second, %.0f%% of requests failing)\n",
		base, backlog, *faults*100)
	fmt.Fprintf(m.Stdout, "%-20s  %-10s %-34s %-28s %-22s %s\n", "effective_at", "source", "type", "actor", "project", "id")

	p, err := pipeline.Build(reg, cfg.Spec, log, nil)
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay demo: %v\n", err)
		return exitFailure
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Stop once --events events were committed; the pipeline then shuts
	// down cleanly.
	var delivered atomic.Int64
	p.OnProgress(func(_ string, pr pipeline.Progress) {
		if delivered.Store(pr.Events); *events > 0 && pr.Events >= int64(*events) {
			cancel()
		}
	})
	start := time.Now()
	err = p.Run(rctx, pipeline.RunOptions{})
	st := sim.Stats()
	fmt.Fprintf(m.Stdout, "\n%d events delivered in %v; the simulator answered %d requests and injected %d faults, all retried.\n",
		delivered.Load(), time.Since(start).Round(time.Millisecond), st.Requests, totalFaults(st.Faults))
	fmt.Fprintf(m.Stdout, "The JSON lines, each event exactly as the API sent it, are in %s\n", archive)
	if err != nil {
		log.Error("demo failed", "err", err)
		return exitFailure
	}
	return exitOK
}

func totalFaults[K comparable](m map[K]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}
