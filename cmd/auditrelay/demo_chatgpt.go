package main

import (
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
)

// `demo --vendor chatgpt`: the pipeline against a simulated ChatGPT
// Enterprise workspace's compliance logs, read by the real source.

// The demo's workspace: a file per event type every chatgptDemoInterval,
// of 1 to 4 records (chatgptDemoLines about), so that new files keep
// coming while the demo runs and every type shows among the first dozens
// of records.
const (
	chatgptDemoInterval = 5 * time.Second
	chatgptDemoLines    = 3
	chatgptDemoKey      = "sk-compliance-demo"
)

// chatgptDemoSource is the demo's source (%s: the base URL, then the
// workspace). Content is left out as by default (keep_content: false).
// Retries are short: the faults are there to be seen, not waited for.
const chatgptDemoSource = `
sources:
  - name: demo-workspace
    type: chatgpt_compliance_logs
    base_url: %s
    workspace_id: %s
    api_key: ${env:CHATGPT_COMPLIANCE_KEY}
    start_at: 25h
    poll_interval: 1s
    max_window_events: 500
    batch_size: 50
    retry_wait_min: 50ms
    retry_wait_max: 1s
    max_retry_after: 250ms
`

// demoChatGPT is the demo's simulated workspace: about backlog records in
// files that ended already, then a file per type every few seconds. With
// events > 0 its clock stops at the first end_time by which its files
// hold at least events records: the source reads files whole, so the demo
// delivers exactly what the files hold then.
func demoChatGPT(events, backlog int, faults float64, seed int64) (*demoVendor, error) {
	types := len(chatgptsim.KnownTypes)
	now := time.Now()
	clock := &demoClock{}
	cf := chatgptSimFlags{seed: seed, interval: chatgptDemoInterval, lines: chatgptDemoLines, apiKey: chatgptDemoKey,
		faultRate: faults, faultKinds: "429,500,503,digest,truncate", retryAfter: time.Second, now: clock.now}
	// The files of the workspace exported from past seconds back, as a
	// simulator of it whose clock is ahead by enough for events (each file
	// has a record at least) lists them, oldest first.
	files := func(past int) (chatgptsim.Options, []chatgptsim.FileInfo, error) {
		cf.start = now.Add(-time.Duration(past) * time.Second).Truncate(time.Second)
		opts, err := cf.options()
		if err != nil {
			return opts, nil, err
		}
		probe := opts
		horizon := now.Add(time.Duration(events/types+2) * chatgptDemoInterval)
		probe.Now, probe.Faults = func() time.Time { return horizon }, chatgptsim.Faults{}
		fs := chatgptsim.New(probe).AllFiles()
		slices.SortStableFunc(fs, func(x, y chatgptsim.FileInfo) int { return x.EndTime.Compare(y.EndTime) })
		return opts, fs, nil
	}
	// The export begins as few seconds back as hold backlog records.
	var opts chatgptsim.Options
	var all []chatgptsim.FileInfo
	held := 0
	for past := 1; held < backlog && past <= 3600; past++ {
		var err error
		if opts, all, err = files(past); err != nil {
			return nil, err
		}
		held = 0
		for _, f := range all {
			if !f.EndTime.After(now) {
				held += f.Lines
			}
		}
	}
	total := 0
	if events > 0 {
		for i, f := range all {
			total += f.Lines
			// The files that end with this one come with it.
			if total >= events && (i+1 == len(all) || all[i+1].EndTime.After(f.EndTime)) {
				clock.stop = f.EndTime
				break
			}
		}
		if clock.stop.IsZero() {
			return nil, fmt.Errorf("the simulated files hold %d records, fewer than --events %d", total, events)
		}
	}

	sim := chatgptsim.New(opts)
	var lns [2]net.Listener
	var err error
	for i := range lns {
		if lns[i], err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			if i > 0 {
				lns[0].Close()
			}
			return nil, err
		}
	}
	base, err := sim.Serve(lns[0], lns[1])
	if err != nil {
		lns[0].Close()
		lns[1].Close()
		return nil, err
	}
	what := fmt.Sprintf("%d past records, then a file per type every %s until Ctrl-C", held, chatgptDemoInterval)
	if events > 0 {
		whole := ""
		if total != events {
			whole = fmt.Sprintf(" (at least the %d asked for: files are read whole)", events)
		}
		what = fmt.Sprintf("%d past records, then a file per type every %s until its files hold %d%s", held, chatgptDemoInterval, total, whole)
		if !clock.stop.After(now) {
			what = fmt.Sprintf("its files hold %d records, all ended already%s", total, whole)
		}
	}
	return &demoVendor{
		source: fmt.Sprintf(chatgptDemoSource, base, sim.WorkspaceID()),
		env:    []string{"CHATGPT_COMPLIANCE_KEY=" + chatgptDemoKey},
		intro: fmt.Sprintf("auditrelay demo: simulated ChatGPT Enterprise workspace at %s (downloads from http://%s): %d event types, %s; %.0f%% of requests fail.\n"+
			"What people wrote (messages, titles, app inputs and outputs, agent messages) is replaced by its SHA-256 and length in the source (keep_content: false): no sink sees it.\n",
			base, lns[1].Addr(), types, what, faults*100),
		topic:    chatgptTopic,
		archived: "The JSON lines, each record as the API sent it but for what people wrote (its SHA-256 and length instead), are in",
		layout:   chatgptScreen,
		stats: func(retried bool) (int64, string) {
			st := sim.Stats()
			var n int64
			for _, byStatus := range st.Requests {
				for _, c := range byStatus {
					n += c
				}
			}
			return n, describeFaults(st.Faults, retried)
		},
		close: func() { sim.Close() },
	}, nil
}
