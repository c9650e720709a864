package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/auditrelay/auditrelay/config"
	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
	"github.com/auditrelay/auditrelay/source/openai/openaisim"
)

// demoSource is the demo's source: the simulator at %s, read from 25 hours
// back, then polled every second.
const demoSource = `
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
`

// fileSinks are the sinks of `demo --sink file`: the table on the screen
// and the JSON lines in the file %s.
const fileSinks = `
sinks:
  - name: screen
    type: ` + screenSinkType + `
  - name: archive
    type: file
    path: %s
checkpoint:
  type: memory
`

// demoRate is the number of new events per second once the past ones are
// read.
const demoRate = 4

// demoVendor is the simulated API the demo runs against: the source
// section that reads it, and what the demo says of it.
type demoVendor struct {
	// source is the config's source section, env what its ${env:...}
	// need.
	source string
	env    []string
	// intro says what is simulated; topic is the topic of --sink kafka;
	// archived says what the file holds; layout is the table's.
	intro, topic, archived string
	layout                 screenLayout
	// stats returns the requests the simulator answered and its faults in
	// words (retried: whether the run got past them).
	stats func(retried bool) (int64, string)
	close func()
}

// demoOpenAI is the demo's simulated organization: the OpenAI audit log,
// backlog events in the past day, then demoRate new ones a second until it
// holds events (0: on and on).
func demoOpenAI(events, backlog int, faults float64, seed int64) (*demoVendor, error) {
	sf := simFlags{seed: seed, events: backlog, span: 24 * time.Hour, rate: demoRate, faultRate: faults,
		faultKinds: "429,500,503,truncated,garbled", retryAfter: 200 * time.Millisecond}
	clock := &demoClock{}
	sf.start, sf.now = time.Now().Add(-sf.span), clock.now
	sim, err := sf.server()
	if err != nil {
		return nil, err
	}
	if events > 0 {
		clock.stopAfter(sim, sf.start.Add(sf.span), backlog, events)
	}
	base, err := sim.Start()
	if err != nil {
		return nil, err
	}
	upTo := "until Ctrl-C"
	if events > 0 {
		upTo = fmt.Sprintf("until it holds the %d to read", events)
	}
	return &demoVendor{
		source: fmt.Sprintf(demoSource, base),
		env:    []string{"OPENAI_ADMIN_KEY=sk-admin-demo"},
		intro: fmt.Sprintf("auditrelay demo: simulated organization at %s: %d past events, then %d new per second %s; %.0f%% of requests fail.\n",
			base, backlog, demoRate, upTo, faults*100),
		topic:    demoTopic,
		archived: "The JSON lines, each event exactly as the API sent it, are in",
		layout:   openaiScreen,
		stats: func(retried bool) (int64, string) {
			st := sim.Stats()
			return st.Requests, describeFaults(st.Faults, retried)
		},
		close: func() { sim.Close() },
	}, nil
}

func (m *Main) cmdDemo(ctx context.Context, args []string) int {
	fs := m.flags("demo", "[--vendor openai|chatgpt|anthropic] [--events N] [--sink file|kafka [--keep]]")
	vendor := fs.String("vendor", "openai", "the simulated API: openai (an organization's audit log), chatgpt (a ChatGPT Enterprise workspace's compliance logs, conversation content hashed by the source) "+
		"or anthropic (the activity feed of Anthropic's Compliance API)")
	events := fs.Int("events", 60, "stop once this many events have been delivered (0: run until Ctrl-C; --vendor chatgpt: at least this many, the files read whole)")
	sink := fs.String("sink", "file", "where the events go besides the screen: file (JSON lines), or kafka (a broker in memory in this process, read back by a consumer)")
	out := fs.String("out", "", "with --sink file, write the JSON lines to this `file` (default: a temporary file)")
	keep := fs.Bool("keep", false, "with --sink kafka, keep the broker running after the demo until Ctrl-C, for kcat or your own consumer")
	faults := fs.Float64("faults", 0.05, "fraction of simulator requests that fail, to show the retries")
	seed := fs.Int64("seed", 0, "simulator seed: the same seed serves the same events (0: a new one each run)")
	level := fs.String("log-level", "warn", "log level on stderr")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	var usage string
	switch {
	case *events < 0:
		usage = "--events must be >= 0"
	case *vendor != "openai" && *vendor != "chatgpt" && *vendor != "anthropic":
		usage = fmt.Sprintf("--vendor must be openai, chatgpt or anthropic, got %q", *vendor)
	case *sink != "file" && *sink != "kafka":
		usage = fmt.Sprintf("--sink must be file or kafka, got %q", *sink)
	case *out != "" && *sink != "file":
		usage = "--out goes with --sink file"
	case *keep && *sink != "kafka":
		usage = "--keep goes with --sink kafka"
	}
	if usage != "" {
		fmt.Fprintf(m.Stderr, "auditrelay demo: %s\n", usage)
		return exitUsage
	}
	fail := func(err error) int {
		fmt.Fprintf(m.Stderr, "auditrelay demo: %v\n", err)
		return exitFailure
	}

	backlog := *events * 3 / 4
	if *events == 0 {
		backlog = 200
	}
	if *seed == 0 {
		*seed = time.Now().UnixNano()
	}
	var v *demoVendor
	var err error
	switch *vendor {
	case "chatgpt":
		v, err = demoChatGPT(*events, backlog, *faults, *seed)
	case "anthropic":
		v, err = demoAnthropic(*events, backlog, *faults, *seed)
	default:
		v, err = demoOpenAI(*events, backlog, *faults, *seed)
	}
	if err != nil {
		return fail(err)
	}
	defer v.close()

	var sinks, archive string
	var broker *kfake.Cluster
	switch *sink {
	case "file":
		if archive = *out; archive == "" {
			f, err := os.CreateTemp("", "auditrelay-demo-*.jsonl")
			if err != nil {
				return fail(err)
			}
			f.Close()
			archive = f.Name()
		}
		sinks = fmt.Sprintf(fileSinks, archive)
	case "kafka":
		if broker, err = kfake.NewCluster(kfake.NumBrokers(1)); err != nil {
			return fail(fmt.Errorf("starting the in-memory Kafka broker: %w", err))
		}
		defer broker.Close()
		sinks = fmt.Sprintf(kafkaSinks, broker.ListenAddrs()[0], v.topic)
	}

	reg, err := components(screenFactory(m.Stdout, v.layout))
	if err != nil {
		return fail(err)
	}
	env := append(append([]string{}, m.Environ...), v.env...)
	cfg, err := config.Parse([]byte(v.source+sinks), ".", reg, env)
	if err != nil {
		return fail(fmt.Errorf("embedded config: %w", err))
	}
	log := m.newLogger(*level, "text")
	fmt.Fprint(m.Stdout, v.intro)
	if broker != nil {
		fmt.Fprintf(m.Stdout, "Kafka: a broker in memory in this process at %s; topic %s, written exactly-once (transactions).\n",
			broker.ListenAddrs()[0], v.topic)
	}
	fmt.Fprint(m.Stdout, "\n", v.layout.header())

	p, err := pipeline.Build(reg, cfg.Spec, log, nil)
	if err != nil {
		return fail(err)
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
	requests, injected := v.stats(err == nil)
	fmt.Fprintf(m.Stdout, "\n%d events delivered in %v; the simulator answered %d requests, with %s.\n",
		delivered.Load(), time.Since(start).Round(time.Millisecond), requests, injected)
	if err != nil {
		log.Error("demo failed", "err", err)
		return exitFailure
	}
	if broker == nil {
		fmt.Fprintf(m.Stdout, "%s %s\n", v.archived, archive)
		return exitOK
	}
	return m.demoReadBack(ctx, broker.ListenAddrs()[0], v.topic, delivered.Load(), *keep)
}

// demoClock is the simulator's clock in the demo: the real one until
// stop, then stop. The source reads whole windows (every event up to the
// API's now), so against a running clock the window that reaches --events
// carries the events that arrived meanwhile too; against a clock that
// stops just after the last event wanted, the organization holds exactly
// that many and the demo delivers and reports what was asked.
type demoClock struct {
	stop time.Time // zero: never stops
}

func (c *demoClock) now() time.Time {
	if t := time.Now(); c.stop.IsZero() || t.Before(c.stop) {
		return t
	}
	return c.stop
}

// stopAfter stops the clock once the simulator holds n events the source
// reads: it has past events before end, then demoRate new ones per second
// from end. tenant.* events do not count: only a source with tenant_only
// reads them. Call it before the simulator serves.
func (c *demoClock) stopAfter(sim *openaisim.Server, end time.Time, past, n int) {
	i, seen := 0, 0
	for ; ; i++ {
		var ev struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(sim.Event(i), &ev) == nil && !strings.HasPrefix(ev.Type, "tenant.") {
			if seen++; seen == n {
				break
			}
		}
	}
	// Event past+j is at end+j/rate (openaisim.Options.Rate): stop
	// half-way between event i and the next.
	j := max(i-past, 0)
	c.stop = end.Add(time.Duration((float64(j) + 0.5) * float64(time.Second) / demoRate))
}

// faultNames says what each kind of injected fault of the simulators is:
// one, and several.
var faultNames = map[string][2]string{
	string(openaisim.Fault429):       {"HTTP 429", "HTTP 429s"},
	string(openaisim.Fault500):       {"HTTP 500", "HTTP 500s"},
	string(openaisim.Fault503):       {"HTTP 503", "HTTP 503s"},
	string(openaisim.FaultSlow):      {"slow answer", "slow answers"},
	string(openaisim.FaultReset):     {"connection reset", "connection resets"},
	string(openaisim.FaultTruncated): {"truncated body", "truncated bodies"},
	string(openaisim.FaultGarbled):   {"garbled body", "garbled bodies"},
	string(openaisim.FaultEnvelope):  {"broken list envelope", "broken list envelopes"},
	string(openaisim.FaultLoop):      {"looping cursor", "looping cursors"},
	string(openaisim.FaultOversize):  {"oversize page", "oversize pages"},
	// The compliance-log simulator's own.
	string(chatgptsim.Fault429Bare):     {"HTTP 429 without Retry-After", "HTTP 429s without Retry-After"},
	string(chatgptsim.Fault502):         {"HTTP 502", "HTTP 502s"},
	string(chatgptsim.FaultMultiDoc):    {"listing in two documents", "listings in two documents"},
	string(chatgptsim.FaultDigest):      {"download with a changed byte", "downloads with a changed byte"},
	string(chatgptsim.FaultTruncate):    {"download cut short", "downloads cut short"},
	string(chatgptsim.FaultShortLength): {"short download", "short downloads"},
	// The activity-feed simulator's own.
	string(anthropicsim.Fault504):    {"HTTP 504", "HTTP 504s"},
	string(anthropicsim.Fault529):    {"HTTP 529 (overloaded)", "HTTP 529s (overloaded)"},
	string(anthropicsim.FaultRepeat): {"page repeating its cursor's activity", "pages repeating their cursor's activity"},
}

// describeFaults says in words what the simulator injected, e.g.
// "1 injected fault (an HTTP 429, retried)" or "3 injected faults (2 HTTP
// 500, 1 truncated body), all retried"; retried tells whether the run
// got past them.
func describeFaults[K ~string](faults map[K]int64, retried bool) string {
	type kind struct {
		name string
		n    int64
	}
	var kinds []kind
	var total int64
	for k, n := range faults {
		if n == 0 {
			continue
		}
		name, ok := faultNames[string(k)]
		if !ok {
			name = [2]string{string(k), string(k)}
		}
		kinds = append(kinds, kind{name[min(n, 2)-1], n})
		total += n
	}
	switch total {
	case 0:
		return "no injected faults"
	case 1:
		what := "a " + kinds[0].name
		if strings.HasPrefix(kinds[0].name, "HTTP") || strings.ContainsAny(kinds[0].name[:1], "aeiou") {
			what = "an " + kinds[0].name
		}
		if retried {
			what += ", retried"
		}
		return "1 injected fault (" + what + ")"
	}
	slices.SortFunc(kinds, func(a, b kind) int { return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.name, b.name)) })
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%d %s", k.n, k.name)
	}
	s := fmt.Sprintf("%d injected faults (%s)", total, strings.Join(parts, ", "))
	if retried {
		s += ", all retried"
	}
	return s
}
