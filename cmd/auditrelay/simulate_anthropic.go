package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/source/anthropic"
	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
)

// `simulate --anthropic`: the simulator of the activity feed of Anthropic's
// Compliance API, for trying the anthropic_compliance_activities source by
// hand.

func (m *Main) cmdSimulateAnthropic(ctx context.Context, args []string) int {
	fs := m.flags("simulate --anthropic", "[--listen ADDR] [--activities N] [--span D] [--rate R] [--faults P] [--latency D[,p99=D]] [--requests-per-minute N]")
	listen := fs.String("listen", "127.0.0.1:8080", "`address` to serve on (base_url is http://ADDR)")
	var o anthropicsim.Options
	fs.Int64Var(&o.Seed, "seed", 1, "seed: the same seed serves the same organization and activities")
	fs.IntVar(&o.Activities, "activities", 10000, "historical activities")
	fs.DurationVar(&o.Span, "span", 720*time.Hour, "period the historical activities cover, ending now")
	fs.Float64Var(&o.Rate, "rate", 0.2, "new activities per second after start")
	fs.Float64Var(&o.LateFraction, "late-fraction", 0, "fraction of activities that become visible late (0..1)")
	fs.DurationVar(&o.MaxLate, "max-late", time.Minute, "how late a late activity is at most")
	fs.IntVar(&o.RequestsPerMinute, "requests-per-minute", anthropicsim.DefaultRequestsPerMinute,
		"the parent organization's budget, shared by every key (a token bucket of a minute's worth); -1: no limit")
	fs.Float64Var(&o.Faults.Rate, "faults", 0, "fraction of requests that fail (0..1)")
	faultKinds := fs.String("fault-kinds", "", "comma-separated kinds: "+faultKindNames(anthropicsim.AllFaultKinds)+" (default all)")
	fs.DurationVar(&o.Faults.SlowDelay, "slow-delay", 2*time.Second, "how late a slow answer (and a 504) is")
	apiKey := fs.String("api-key", "", "require this x-api-key (default: accept any); it is never printed")
	fs.Func("latency", latencyUsage, func(v string) error {
		l, err := parseSimLatency(v)
		o.Latency = anthropicsim.Latency{Median: l.Median, P99: l.P99}
		return err
	})
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if *faultKinds != "" {
		for k := range strings.SplitSeq(*faultKinds, ",") {
			o.Faults.Kinds = append(o.Faults.Kinds, anthropicsim.FaultKind(strings.TrimSpace(k)))
		}
	}
	if *apiKey != "" {
		o.Keys = []anthropicsim.Key{{Secret: *apiKey}}
	}
	if err := o.Validate(); err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay simulate --anthropic: %v\n", err)
		return exitUsage
	}
	sim := anthropicsim.New(o)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay simulate --anthropic: --listen: %v\n", err)
		return exitFailure
	}
	base, err := sim.Serve(ln)
	if err != nil {
		ln.Close()
		fmt.Fprintf(m.Stderr, "auditrelay simulate --anthropic: %v\n", err)
		return exitFailure
	}
	defer sim.Close()
	key := "any x-api-key is accepted"
	if *apiKey != "" {
		key = "the key given with --api-key is required"
	}
	w := m.Stdout
	fmt.Fprintf(w, "Anthropic Compliance API simulator: %d activities visible now, %d requests a minute; %s (Ctrl-C stops)\n",
		sim.Count(), o.RequestsPerMinute, key)
	fmt.Fprintf(w, "  API (base_url):  %s  (GET %s/v1/compliance/activities)\n", base, base)
	fmt.Fprintf(w, "\nA source of a config file:\n")
	fmt.Fprintf(w, "  - name: claude\n    type: %s\n    base_url: %s\n    api_key: ${env:ANTHROPIC_COMPLIANCE_KEY}\n    start_at: %s\n",
		anthropic.Type, base, (o.Span + time.Hour).String())
	<-ctx.Done()
	sim.Close()
	// The final counters, one JSON line, for a harness that stops the
	// simulator with a signal.
	json.NewEncoder(m.Stderr).Encode(sim.Stats()) //nolint:errcheck // stderr is gone: nothing to tell
	return exitOK
}
