package main

import (
	"fmt"
	"net"
	"time"

	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
)

// `demo --vendor anthropic`: the pipeline against a simulated parent
// organization's activity feed of Anthropic's Compliance API, read by the
// real source.

const anthropicDemoKey = "sk-ant-api01-demo"

// anthropicDemoSource is the demo's source (%s: the base URL): the
// simulator read from 25 hours back, then polled every second. Retries
// are short: the faults are there to be seen, not waited for.
const anthropicDemoSource = `
sources:
  - name: demo-claude
    type: anthropic_compliance_activities
    base_url: %s
    api_key: ${env:ANTHROPIC_COMPLIANCE_KEY}
    start_at: 25h
    poll_interval: 1s
    settle: 0s
    overlap: 10s
    page_size: 100
    max_window_events: 500
    batch_size: 50
    retry_wait_min: 50ms
    retry_wait_max: 1s
    max_retry_after: 250ms
`

// anthropicDemoFaults are the faults the demo injects: those a source
// retries. A 500 the API marks x-should-retry: false would stop it (as it
// should), and a slow answer or a 504 would only make the demo wait.
var anthropicDemoFaults = []anthropicsim.FaultKind{anthropicsim.Fault502, anthropicsim.Fault503, anthropicsim.Fault529,
	anthropicsim.FaultTruncated, anthropicsim.FaultRepeat}

// demoAnthropic is the demo's simulated parent organization: backlog
// activities in the past day, then demoRate new ones a second. With
// events > 0 its clock stops half-way between activity events-1 and the
// next, so that it holds exactly events and the demo delivers them all.
func demoAnthropic(events, backlog int, faults float64, seed int64) (*demoVendor, error) {
	clock := &demoClock{}
	o := anthropicsim.Options{Seed: seed, Activities: backlog, Span: 24 * time.Hour, Start: time.Now().Add(-24 * time.Hour),
		Rate: demoRate, Now: clock.now, Keys: []anthropicsim.Key{{Secret: anthropicDemoKey}},
		Faults: anthropicsim.Faults{Rate: faults, Kinds: anthropicDemoFaults}}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	sim := anthropicsim.New(o)
	if events > 0 {
		clock.stopAtActivities(sim, events)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	base, err := sim.Serve(ln)
	if err != nil {
		ln.Close()
		return nil, err
	}
	upTo := "until Ctrl-C"
	if events > 0 {
		upTo = fmt.Sprintf("until it holds the %d to read", events)
	}
	return &demoVendor{
		source: fmt.Sprintf(anthropicDemoSource, base),
		env:    []string{anthropicKeyEnv + "=" + anthropicDemoKey},
		intro: fmt.Sprintf("auditrelay demo: simulated Anthropic parent organization at %s (the Compliance API's activity feed): %d past activities, then %d new per second %s; %.0f%% of requests fail.\n",
			base, backlog, demoRate, upTo, faults*100),
		topic:    anthropicTopic,
		archived: "The JSON lines, each activity exactly as the API sent it, are in",
		layout:   anthropicScreen,
		stats: func(retried bool) (int64, string) {
			st := sim.Stats()
			return st.Requests, describeFaults(st.Faults, retried)
		},
		close: func() { sim.Close() },
	}, nil
}

// stopAtActivities stops the clock half-way between activity n-1 and the
// next: activity i exists from its instant on (none is late here), so the
// simulator then holds exactly n. Call it before the simulator serves.
func (c *demoClock) stopAtActivities(sim *anthropicsim.Server, n int) {
	last, next := sim.VisibleAt(n-1), sim.VisibleAt(n)
	c.stop = last.Add(next.Sub(last) / 2)
}
