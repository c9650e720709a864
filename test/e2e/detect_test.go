//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/openai/openaisim"
	"github.com/auditrelay/auditrelay/source/openai/openaisim/openaisimtest"
)

// detectConfig reads acme from the simulator at base through the default
// detection pack into an archive without alerts and an alert file with
// alerts only.
func detectConfig(base string) string {
	return backfillConfig(base, `  - name: archive
    type: file
    path: out/audit.jsonl
    accept:
      exclude_types: [auditrelay.alert]
  - name: alerts
    type: file
    path: out/alerts.jsonl
    accept:
      types: [auditrelay.alert]`, fileCheckpoint) + `
transforms:
  - type: detect
    link_template: https://platform.openai.com/audit?ids={ids}
`
}

// alertLine is what the test reads of an alert.
type alertLine struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Rule     string `json:"rule"`
	Link     string `json:"link"`
	Evidence struct {
		EventIDs []string `json:"event_ids"`
	} `json:"evidence"`
}

// readAlerts returns the alerts of the file at path, in order; a line cut
// short by a kill is skipped.
func readAlerts(t *testing.T, path string) []alertLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []alertLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var a alertLine
		if json.Unmarshal(sc.Bytes(), &a) != nil {
			continue
		}
		out = append(out, a)
	}
	return out
}

// TestDetectKill9RaisesNoSecondAlert runs the default pack over a
// 20,000-event back-fill of the simulator twice: once in one run, and once
// killed with SIGKILL at random points after a few committed windows,
// again and again, each run resuming from its checkpoint and its detection
// state. The killed back-fill must raise exactly the alerts of the clean
// one, with the same ids: no alert lost, none raised a second time for the
// same evidence. The file sink is at-least-once, so a kill may leave a
// copy of an alert of the window in delivery (the same id, the same
// bytes), as it may of any event; those are counted, bounded by the kills.
func TestDetectKill9RaisesNoSecondAlert(t *testing.T) {
	_, base := openaisimtest.Start(t, openaisim.Options{Seed: 61, Events: 20000, Span: 720 * time.Hour})
	const maxWindow = "\n    max_window_events: 1000\n"
	cfgYAML := strings.Replace(detectConfig(base), "    start_at: 720h\n", "    start_at: 720h"+maxWindow, 1)

	clean := writeConfig(t, cfgYAML)
	if _, stderr, code := runAuditrelay(t, 2*time.Minute, "run", "-c", clean, "--once"); code != 0 {
		t.Fatalf("clean run: exit %d\n%s", code, stderr)
	}
	want := readAlerts(t, filepath.Join(filepath.Dir(clean), "out", "alerts.jsonl"))
	if len(want) < 20 {
		t.Fatalf("the clean run raised %d alerts: too few to check", len(want))
	}
	rules := map[string]int{}
	for _, a := range want {
		rules[a.Rule]++
		if a.Type != "auditrelay.alert" || len(a.Evidence.EventIDs) == 0 || !strings.HasPrefix(a.Link, "https://platform.openai.com/audit?ids=") {
			t.Fatalf("alert %+v", a)
		}
	}
	t.Logf("clean run: %d alerts %v", len(want), rules)

	cfg := writeConfig(t, cfgYAML)
	dir := filepath.Dir(cfg)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 61))
	kills := 0
	for run := 0; ; run++ {
		if run > 40 {
			t.Fatal("the back-fill did not finish within 40 runs")
		}
		cmd, logs, exited := startOnce(t, cfg)
		if kills < 8 {
			windows := 1 + rng.IntN(3)
			pollUntil(exited, time.Minute, func() bool {
				return len(committed.FindAllStringIndex(logs.String(), -1)) >= windows
			})
			time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond) // into the next window
			if cmd.Process.Signal(syscall.SIGKILL) == nil {
				if err := <-exited; err != nil {
					kills++
					continue
				}
				break // it had finished before the kill
			}
		}
		if err := <-exited; err != nil {
			t.Fatalf("run %d: %v\n%s", run, err, logs.String())
		}
		break
	}
	got := readAlerts(t, filepath.Join(dir, "out", "alerts.jsonl"))
	byID := map[string]alertLine{}
	copies := 0
	for _, a := range got {
		if prev, dup := byID[a.ID]; dup {
			copies++
			if !slices.Equal(prev.Evidence.EventIDs, a.Evidence.EventIDs) {
				t.Errorf("alert %s written with two evidences: %v and %v", a.ID, prev.Evidence.EventIDs, a.Evidence.EventIDs)
			}
			continue
		}
		byID[a.ID] = a
	}
	evidence := map[string]string{} // rule and evidence -> alert id
	for id, a := range byID {
		k := a.Rule + " " + strings.Join(a.Evidence.EventIDs, ",")
		if other, dup := evidence[k]; dup {
			t.Errorf("a second alert for the same evidence: %s and %s (%s)", id, other, k)
		}
		evidence[k] = id
	}
	var wantIDs, gotIDs []string
	for _, a := range want {
		wantIDs = append(wantIDs, a.ID)
	}
	for id := range byID {
		gotIDs = append(gotIDs, id)
	}
	slices.Sort(wantIDs)
	slices.Sort(gotIDs)
	if !slices.Equal(gotIDs, wantIDs) {
		t.Errorf("after %d kills: %d distinct alerts, the clean run %d (kill seed %d)", kills, len(gotIDs), len(wantIDs), seed)
	}
	if kills < 4 {
		t.Errorf("only %d kills landed", kills)
	}
	if copies > kills*len(want)/5 { // one window holds about a twentieth
		t.Errorf("%d copies after %d kills", copies, kills)
	}
	t.Logf("%d kills (seed %d): %d alerts, the same as the clean run; %d copies of an alert of a window in delivery",
		kills, seed, len(gotIDs), copies)
}
