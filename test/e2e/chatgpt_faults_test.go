//go:build e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
)

// TestChatGPTFaultsEveryRecordOnce runs the binary once per fault kind of
// the simulator, that kind injected into 10% of the requests (of both
// hosts: listings, redirects and downloads; a kind that does not apply to
// a request leaves it alone), with files that repeat the previous file's
// last lines and slots of two files sharing an end_time. Every record must
// reach the file sink exactly once, and none that the simulator does not
// hold: a download with a changed byte (digest) carries an event_id
// altered by one hex digit, which only the SHA-256 check keeps out; a
// download cut short (truncate, short-length) would deliver half a file
// and a torn line. Each kind must have been injected a few times, or the
// run proved nothing about it.
func TestChatGPTFaultsEveryRecordOnce(t *testing.T) {
	for i, kind := range chatgptsim.AllFaultKinds {
		t.Run(string(kind), func(t *testing.T) {
			began := time.Now()
			// Files of an hour: about 200 of them, 550 requests. A 429
			// is a signal to the source's request pacing, which cuts its
			// rate by 15% each time and grows it by 10% a second: at one
			// request in ten refused it falls to about 10 requests a
			// second within 200 requests. Files of six hours (about 35,
			// 100 requests) keep those two runs short.
			interval := time.Hour
			if kind == chatgptsim.Fault429 || kind == chatgptsim.Fault429Bare {
				interval = 6 * time.Hour
			}
			sim, base := startChatGPTSim(t, chatgptsim.Options{Seed: int64(60 + i), Interval: interval,
				Start: time.Now().Add(-24 * time.Hour).Truncate(time.Hour), Lines: 6, DuplicateFraction: 0.2, SharedEnd: 0.1,
				Faults: chatgptsim.Faults{Rate: 0.1, Kinds: []chatgptsim.FaultKind{kind}, SlowDelay: 30 * time.Millisecond}})
			truth := sim.Truth()
			cfg := writeChatGPTConfig(t, chatgptConfig(base, sim.WorkspaceID(), "    page_size: 4\n    max_window_events: 500",
				fileSinkYAML("audit.jsonl")))
			_, stderr, code := runAuditrelay(t, 2*time.Minute, "run", "-c", cfg, "--once")
			if code != 0 {
				t.Fatalf("auditrelay exited %d:\n%s", code, stderr)
			}
			ids, torn, _ := sinkLines(t, filepath.Join(filepath.Dir(cfg), "audit.jsonl"), 0)
			missing, dups, unknown := onceEach(t, "file sink", ids, truth.EventIDs)
			st := sim.Stats()
			var requests int64
			for _, byStatus := range st.Requests {
				for _, n := range byStatus {
					requests += n
				}
			}
			t.Logf("%d records in %d files (%d lines repeated by the export): %d delivered, %d missing, %d twice, %d unknown, %d cut short; %d requests, %d %s faults; %v",
				len(truth.EventIDs), truth.Files, truth.Duplicates, len(ids), missing, dups, unknown, torn, requests, st.Faults[kind], kind, time.Since(began).Round(time.Millisecond))
			if missing+dups+unknown+torn > 0 {
				t.Errorf("not every record exactly once: %d missing, %d twice, %d unknown, %d lines cut short", missing, dups, unknown, torn)
			}
			if st.Faults[kind] < 3 {
				t.Errorf("only %d %s faults injected: too few to prove anything", st.Faults[kind], kind)
			}
			if truth.Duplicates == 0 {
				t.Error(fmt.Sprintf("the export repeats no line: de-duplication is not exercised (%+v)", truth))
			}
		})
	}
}
