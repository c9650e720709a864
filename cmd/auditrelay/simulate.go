package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/source/openai/openaisim"
)

// simFlags are the simulator options shared by simulate and demo.
type simFlags struct {
	seed                  int64
	events, orgLogs       int
	span                  time.Duration
	rate                  float64
	faultRate             float64
	faultKinds            string
	lateFraction          float64
	lateDelay, retryAfter time.Duration
	apiKey                string
	latency               openaisim.Latency
	rateLimit             float64
	rateSchedule          []openaisim.RateStep
	// start and now, when set, fix the first event's instant and the
	// clock (demo stops the clock to serve an exact number of events).
	start time.Time
	now   func() time.Time
}

func (m *Main) cmdSimulate(ctx context.Context, args []string) int {
	// simulate --chatgpt: the ChatGPT compliance-log simulator, its own
	// flags (simulate_chatgpt.go).
	if rest, ok := cutFlag(args, "chatgpt"); ok {
		return m.cmdSimulateChatGPT(ctx, rest)
	}
	// simulate --anthropic: the Anthropic Compliance API's activity feed
	// (simulate_anthropic.go).
	if rest, ok := cutFlag(args, "anthropic"); ok {
		return m.cmdSimulateAnthropic(ctx, rest)
	}

	fs := m.flags("simulate", "[--listen ADDR] [--events N] [--rate R] [--faults P] [--latency D[,p99=D]] [--rate-limit R[,R@D...]]")
	fs.Bool("chatgpt", false, "serve the ChatGPT Enterprise compliance-log simulator instead (its flags: simulate --chatgpt -h)")
	fs.Bool("anthropic", false, "serve the Anthropic Compliance API activity-feed simulator instead (its flags: simulate --anthropic -h)")
	listen := fs.String("listen", "127.0.0.1:8080", "`address` to serve on")
	var sf simFlags
	fs.Int64Var(&sf.seed, "seed", 1, "seed: the same seed serves the same events")
	fs.IntVar(&sf.events, "events", 10000, "historical audit events")
	fs.IntVar(&sf.orgLogs, "org-logs", 10000, "historical request-log records (/v1/organization_logs)")
	fs.DurationVar(&sf.span, "span", 720*time.Hour, "period the historical events cover, ending now")
	fs.Float64Var(&sf.rate, "rate", 0.2, "new events per second after start")
	fs.Float64Var(&sf.faultRate, "faults", 0, "fraction of requests that fail (0..1)")
	fs.StringVar(&sf.faultKinds, "fault-kinds", "", "comma-separated kinds: "+faultKindNames(openaisim.AllFaultKinds)+" (default all; loop and oversize hit the two log lists only)")
	fs.DurationVar(&sf.retryAfter, "retry-after", time.Second, "Retry-After announced by 429s")
	fs.Float64Var(&sf.lateFraction, "late-fraction", 0, "fraction of events that become visible late")
	fs.DurationVar(&sf.lateDelay, "late-delay", time.Minute, "how late late events are")
	fs.StringVar(&sf.apiKey, "api-key", "", "require this bearer key (default: accept any)")
	fs.Func("latency", latencyUsage, func(v string) error {
		l, err := openaisim.ParseLatency(v)
		sf.latency = l
		return err
	})
	fs.Func("rate-limit", "allow this many requests per second per API key, 429 beyond: `rates` RATE, or RATE,RATE@AFTER... to change it during the run (e.g. 20,10@10s,20@20s; 0 = unlimited)", func(v string) error {
		r, steps, err := openaisim.ParseRateLimit(v)
		sf.rateLimit, sf.rateSchedule = r, steps
		return err
	})
	if code, ok := parse(fs, args); !ok {
		return code
	}
	sim, err := sf.server()
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay simulate: %v\n", err)
		return exitUsage
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay simulate: %v\n", err)
		return exitFailure
	}
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(m.Stdout, "simulator serving %d audit events at http://%s/v1, counters at http://%s/_sim/stats (Ctrl-C stops)\n", sf.events, ln.Addr(), ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close() // a client that stopped reading an oversize answer holds its handler
		}
		// The final counters, one JSON line, for a harness that stops the
		// simulator with a signal and cannot ask /_sim/stats any more.
		json.NewEncoder(m.Stderr).Encode(sim.Stats()) //nolint:errcheck // stderr is gone: nothing to tell
		return exitOK
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return exitOK
		}
		fmt.Fprintf(m.Stderr, "auditrelay simulate: %v\n", err)
		return exitFailure
	}
}

func (sf *simFlags) server() (*openaisim.Server, error) {
	opts := openaisim.Options{
		Seed: sf.seed, Events: sf.events, Span: sf.span, Rate: sf.rate,
		OrgLogEvents: sf.orgLogs, OrgLogRate: sf.rate,
		LateFraction: sf.lateFraction, LateDelay: sf.lateDelay, APIKey: sf.apiKey,
		Faults:  openaisim.Faults{Rate: sf.faultRate, RetryAfter: sf.retryAfter},
		Latency: sf.latency, RateLimit: sf.rateLimit, RateSchedule: sf.rateSchedule,
		Start: sf.start, Now: sf.now,
	}
	if sf.faultKinds != "" {
		kinds, err := openaisim.ParseFaultKinds(sf.faultKinds)
		if err != nil {
			return nil, err
		}
		opts.Faults.Kinds = kinds
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return openaisim.New(opts), nil
}

// faultKindNames lists a simulator's fault kinds for the help of
// --fault-kinds.
func faultKindNames[K ~string](kinds []K) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ",")
}

// latencyUsage is the help of every simulator's --latency: they all read
// it as the OpenAI simulator does.
const latencyUsage = "answer every request after a log-normal `delay`: MEDIAN or MEDIAN,p99=P99 (e.g. 250ms,p99=2s; p99 defaults to 4x the median)"

// parseSimLatency reads the --latency of the ChatGPT or the Anthropic
// simulator; its error does not name the OpenAI simulator's package,
// which their users need not know of.
func parseSimLatency(v string) (openaisim.Latency, error) {
	l, err := openaisim.ParseLatency(v)
	if err != nil {
		return l, errors.New(strings.TrimPrefix(err.Error(), "openaisim: "))
	}
	return l, nil
}
