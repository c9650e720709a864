package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/source/chatgpt"
	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
)

// `simulate --chatgpt`: the simulator of ChatGPT Enterprise's Compliance
// Logs API, on two listeners: the API, and the host of the signed download
// URLs it redirects to (so that a client is seen to keep its key off it).

// cutFlag removes the boolean flag name (-name, --name, --name=true) from
// args and reports whether it was there; the flags after "--" are not
// read.
func cutFlag(args []string, name string) ([]string, bool) {
	for i, a := range args {
		if a == "--" {
			break
		}
		switch a {
		case "-" + name, "--" + name, "-" + name + "=true", "--" + name + "=true":
			return slices.Concat(args[:i], args[i+1:]), true
		}
	}
	return args, false
}

// chatgptSimFlags are the options of the ChatGPT simulator that simulate
// and demo set.
type chatgptSimFlags struct {
	seed             int64
	span             time.Duration
	interval         time.Duration
	lines            int
	types            string
	sharedEnd, dups  float64
	omitDetails      bool
	urlTTL           time.Duration
	faultRate        float64
	faultKinds       string
	retryAfter, slow time.Duration
	apiKey           string
	latency          chatgptsim.Latency
	// start and now, when set, fix where the export begins and the clock
	// (demo stops the clock to serve an exact number of records).
	start time.Time
	now   func() time.Time
}

// options are the simulator's Options, validated.
func (cf *chatgptSimFlags) options() (chatgptsim.Options, error) {
	o := chatgptsim.Options{
		Seed: cf.seed, APIKey: cf.apiKey, Interval: cf.interval, Lines: cf.lines,
		SharedEnd: cf.sharedEnd, DuplicateFraction: cf.dups, OmitFileDetails: cf.omitDetails, URLTTL: cf.urlTTL,
		Latency: cf.latency, Now: cf.now, Start: cf.start,
		Faults: chatgptsim.Faults{Rate: cf.faultRate, RetryAfter: cf.retryAfter, SlowDelay: cf.slow},
	}
	if cf.types != "" {
		for t := range strings.SplitSeq(cf.types, ",") {
			o.Types = append(o.Types, strings.TrimSpace(t))
		}
	}
	if cf.faultKinds != "" {
		for k := range strings.SplitSeq(cf.faultKinds, ",") {
			o.Faults.Kinds = append(o.Faults.Kinds, chatgptsim.FaultKind(strings.TrimSpace(k)))
		}
	}
	if o.Start.IsZero() && cf.span > 0 {
		now := time.Now
		if cf.now != nil {
			now = cf.now
		}
		o.Start = now().Add(-cf.span).Truncate(cmp.Or(cf.interval, 10*time.Minute))
	}
	if cf.span < 0 {
		return o, fmt.Errorf("--span %s is negative", cf.span)
	}
	return o, o.Validate()
}

func (m *Main) cmdSimulateChatGPT(ctx context.Context, args []string) int {
	fs := m.flags("simulate --chatgpt", "[--listen ADDR] [--download-listen ADDR] [--span 24h] [--interval 10m] [--lines 20] [--faults P] [--latency D[,p99=D]]")
	listen := fs.String("listen", "127.0.0.1:8080", "`address` of the Compliance API (base_url is http://ADDR/v1/compliance)")
	dlListen := fs.String("download-listen", "127.0.0.1:8081", "`address` of the download host the API redirects to, with signed URLs")
	var cf chatgptSimFlags
	fs.Int64Var(&cf.seed, "seed", 1, "seed: the same seed serves the same workspace, files and records")
	fs.DurationVar(&cf.span, "span", 24*time.Hour, "how far back from now the export begins; files appear from then on, and new ones as time passes")
	fs.DurationVar(&cf.interval, "interval", 10*time.Minute, "the span one file covers, per event type (whole seconds)")
	fs.IntVar(&cf.lines, "lines", 20, "typical records per file (each file has between half and one and a half times as many)")
	fs.StringVar(&cf.types, "types", "", "comma-separated event types that have files (default: "+strings.Join(chatgptsim.KnownTypes, ",")+"); another name gets records of an unknown shape")
	fs.Float64Var(&cf.sharedEnd, "shared-end", 0, "fraction of files that share their end_time with another (0..1)")
	fs.Float64Var(&cf.dups, "duplicates", 0, "fraction of files that repeat the last lines of the file before, as an at-least-once export does (0..1)")
	fs.BoolVar(&cf.omitDetails, "omit-file-details", false, "leave file_size and file_sha256 out of the listing")
	fs.DurationVar(&cf.urlTTL, "url-ttl", 5*time.Minute, "how long a signed download URL stays valid")
	fs.Float64Var(&cf.faultRate, "faults", 0, "fraction of requests that fail (0..1)")
	fs.StringVar(&cf.faultKinds, "fault-kinds", "", "comma-separated kinds: "+faultKindNames(chatgptsim.AllFaultKinds)+" (default all; multidoc hits listings, digest, truncate and short-length downloads)")
	fs.DurationVar(&cf.retryAfter, "retry-after", time.Second, "Retry-After announced by 429s")
	fs.DurationVar(&cf.slow, "slow-delay", 2*time.Second, "how late a slow answer is")
	fs.StringVar(&cf.apiKey, "api-key", "", "require this bearer key (default: accept any); it is never printed")
	fs.Func("latency", latencyUsage, func(v string) error {
		l, err := parseSimLatency(v)
		cf.latency = chatgptsim.Latency{Median: l.Median, P99: l.P99}
		return err
	})
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(m.Stderr, "auditrelay simulate --chatgpt: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	opts, err := cf.options()
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay simulate --chatgpt: %v\n", err)
		return exitUsage
	}
	sim := chatgptsim.New(opts)
	apiLn, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay simulate --chatgpt: --listen: %v\n", err)
		return exitFailure
	}
	dlLn, err := net.Listen("tcp", *dlListen)
	if err != nil {
		apiLn.Close()
		fmt.Fprintf(m.Stderr, "auditrelay simulate --chatgpt: --download-listen: %v\n", err)
		return exitFailure
	}
	base, err := sim.Serve(apiLn, dlLn)
	if err != nil {
		apiLn.Close()
		dlLn.Close()
		fmt.Fprintf(m.Stderr, "auditrelay simulate --chatgpt: %v\n", err)
		return exitFailure
	}
	defer sim.Close()
	m.describeChatGPTSim(sim, base, dlLn.Addr().String(), cf)
	<-ctx.Done()
	sim.Close()
	// The final counters, one JSON line, for a harness that stops the
	// simulator with a signal.
	json.NewEncoder(m.Stderr).Encode(sim.Stats()) //nolint:errcheck // stderr is gone: nothing to tell
	return exitOK
}

// describeChatGPTSim says what the simulator serves and how to point the
// source and the query commands at it. The key is never printed.
func (m *Main) describeChatGPTSim(sim *chatgptsim.Server, base, download string, cf chatgptSimFlags) {
	files := sim.AllFiles()
	types := map[string]bool{}
	for _, f := range files {
		types[f.EventType] = true
	}
	key := "any bearer key is accepted"
	if cf.apiKey != "" {
		key = "the key given with --api-key is required"
	}
	w := m.Stdout
	fmt.Fprintf(w, "ChatGPT compliance-log simulator: %d files of %d event types visible now (one per type every %s since %s, more as time passes); %s (Ctrl-C stops)\n",
		len(files), len(types), sim.Interval(), sim.Start().Format(time.RFC3339), key)
	fmt.Fprintf(w, "  API (base_url):  %s\n", base)
	fmt.Fprintf(w, "  download host:   http://%s (signed URLs the API redirects to; a request there that carries a key is refused 400)\n", download)
	fmt.Fprintf(w, "  workspace_id:    %s   (or organization_id: %s)\n", sim.WorkspaceID(), sim.OrgID())
	fmt.Fprintf(w, "\nA source of a config file:\n")
	fmt.Fprintf(w, "  - name: chatgpt\n    type: %s\n    base_url: %s\n    workspace_id: %s\n    api_key: ${env:CHATGPT_COMPLIANCE_KEY}\n    start_at: %s\n",
		chatgpt.Type, base, sim.WorkspaceID(), sim.Start().Format(time.RFC3339))
	fmt.Fprintf(w, "\nOr ask it from a terminal (CHATGPT_COMPLIANCE_KEY set):\n")
	fmt.Fprintf(w, "  auditrelay list --api chatgpt --base-url %s --workspace %s\n", base, sim.WorkspaceID())
}
