package main

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	aschema "github.com/auditrelay/auditrelay/schema/anthropic"
	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
)

// anRow is a row of the demo's table over activities: it ends in an
// activity's id.
var anRow = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  (\S+) +(.+?)  (activity_\w+)$`)

// TestDemoAnthropicDeliversExactlyTheEventsAsked: demo --vendor anthropic
// runs the activity-feed source from the in-process simulator into the
// table and the file, through a fifth of its requests failing (pages
// repeating their cursor's activity among them): exactly --events
// activities, each once, of several types and kinds of actor, the table
// naming each actor as the query commands do.
func TestDemoAnthropicDeliversExactlyTheEventsAsked(t *testing.T) {
	jsonl := filepath.Join(t.TempDir(), "demo.jsonl")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, errb, code := runCLI(ctx, "demo", "--vendor", "anthropic", "--events", "40", "--faults", "0.2", "--out", jsonl, "--seed", "7")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errb)
	}
	if !strings.Contains(out, "\n40 events delivered in ") || !strings.Contains(out, "injected fault") {
		t.Errorf("the summary does not report 40 events and the faults:\n%s", out)
	}
	if !strings.Contains(out, "created_at            type                             actor                           id\n") {
		t.Errorf("no table header:\n%s", out)
	}

	f, err := os.Open(jsonl)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	actors, types, kinds := map[string]string{}, map[string]bool{}, map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl, err := aschema.ReadObject(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := actors[fl.ID()]; dup {
			t.Fatalf("activity %s archived twice", fl.ID())
		}
		a := fl.Actor()
		actors[fl.ID()] = activityActor(a)
		types[fl.Type()] = true
		kinds[a.Kind] = true
	}
	if len(actors) != 40 {
		t.Fatalf("the archive holds %d activities, want exactly the 40 asked", len(actors))
	}
	if len(types) < 8 || len(kinds) < 3 {
		t.Errorf("activities of %d types by %d kinds of actor, want several: %v %v", len(types), len(kinds), types, kinds)
	}
	rows := anRow.FindAllStringSubmatch(out, -1)
	if len(rows) != 40 {
		t.Fatalf("the table has %d rows, want 40:\n%s", len(rows), out)
	}
	shown := map[bool]bool{}
	for _, r := range rows {
		actor, ok := actors[r[3]]
		if want := strings.TrimSpace(cell(actor, actorWidth)); !ok || strings.TrimSpace(r[2]) != want {
			t.Errorf("row of %s shows actor %q, want %q", r[3], strings.TrimSpace(r[2]), want)
		}
		shown[strings.Contains(actor, "@")] = true
	}
	if !shown[true] || !shown[false] {
		t.Errorf("the table shows no actor but people, or no people:\n%s", out)
	}
}

// TestDemoAnthropicClockStopsAtTheEventsAsked: the demo's simulator
// holds exactly n activities once its clock stopped, whether the n-th is
// one of the past ones or one of those that keep coming.
func TestDemoAnthropicClockStopsAtTheEventsAsked(t *testing.T) {
	for n := 1; n <= 300; n++ {
		clock := &demoClock{}
		// Its clock stops in the past: the test need not wait for it.
		sim := anthropicsim.New(anthropicsim.Options{Seed: int64(n), Activities: 100, Span: 24 * time.Hour,
			Start: time.Now().Add(-48 * time.Hour), Rate: demoRate, Now: clock.now})
		clock.stopAtActivities(sim, n)
		if got := sim.Count(); got != n {
			t.Fatalf("--events %d: the simulator holds %d activities", n, got)
		}
	}
}

// TestDemoAnthropicKafka: demo --vendor anthropic --sink kafka writes the
// activities to their own topic, exactly once, and reads them back.
func TestDemoAnthropicKafka(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, errb, code := runCLI(ctx, "demo", "--vendor", "anthropic", "--sink", "kafka", "--events", "10", "--faults", "0", "--seed", "8")
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errb)
	}
	if !strings.Contains(out, "\n10 events delivered in ") || !strings.Contains(out, "reads 10 records, one per event delivered") || !strings.Contains(out, "topic anthropic.compliance") {
		t.Fatalf("stdout:\n%s", out)
	}
	blocks := regexp.MustCompile(`(?m)^  anthropic\.compliance  partition \d+  offset \d+  key (\S+)\n    headers  (.*)\n(?:             (.*)\n)?    value    (\{.*)$`).FindAllStringSubmatch(out, -1)
	if len(blocks) != demoShown {
		t.Fatalf("%d records shown, want %d:\n%s", len(blocks), demoShown, out)
	}
	for _, b := range blocks {
		if !strings.Contains(b[2]+"  "+b[3], "event.schema=anthropic.compliance_activity") || !strings.HasPrefix(b[4], `{"id":"`+b[1]+`"`) {
			t.Errorf("record %s: headers %q, value %q", b[1], b[2]+b[3], b[4])
		}
	}
}
