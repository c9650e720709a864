package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	cgschema "github.com/auditrelay/auditrelay/schema/chatgpt"
)

// cgRow is a row of the demo's table over compliance records: it ends in
// an event_id.
var cgRow = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  (\S+) +(.+?)  ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)

// demoHolds reads from the demo's first line how many records its files
// hold when its clock stops.
func demoHolds(t *testing.T, out string) int {
	t.Helper()
	m := regexp.MustCompile(`files hold (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the demo does not say how many records it serves:\n%s", out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestDemoChatGPTShowsRecordsOfSeveralTypesContentHashed: demo --vendor
// chatgpt runs the compliance-log source from the in-process simulator
// into the table and the file, through a fifth of its requests failing:
// every record the files hold at least --events, once; several types; the
// actor a user's e-mail, an API key's redacted id or an agent's name; no
// conversation text anywhere.
func TestDemoChatGPTShowsRecordsOfSeveralTypesContentHashed(t *testing.T) {
	jsonl := filepath.Join(t.TempDir(), "demo.jsonl")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, errb, code := runCLI(ctx, "demo", "--vendor", "chatgpt", "--events", "20", "--faults", "0.2", "--out", jsonl, "--seed", "7")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errb)
	}
	n := demoHolds(t, out)
	if n < 20 {
		t.Fatalf("the files hold %d records, fewer than --events 20", n)
	}
	if !strings.Contains(out, "\n"+strconv.Itoa(n)+" events delivered in ") || !strings.Contains(out, "injected fault") {
		t.Errorf("the summary does not report %d events and the faults:\n%s", n, out)
	}
	if !strings.Contains(out, "timestamp             type                        actor                           event_id\n") {
		t.Errorf("no table header:\n%s", out)
	}

	f, err := os.Open(jsonl)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	actors, types := map[string]string{}, map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		fl, err := cgschema.ReadObject(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := actors[fl.ID()]; dup {
			t.Fatalf("record %s archived twice", fl.ID())
		}
		switch a := fl.Actor(); a.Kind {
		case cgschema.ActorUser:
			actors[fl.ID()] = a.Email
		case cgschema.ActorAPIKey:
			actors[fl.ID()] = a.KeyID
		case cgschema.ActorAgent:
			actors[fl.ID()] = a.AgentName
		}
		types[fl.Type()] = true
		if fl.Type() == cgschema.TypeConversationMessage {
			var rec struct {
				Message struct {
					Content struct {
						Value json.RawMessage `json:"value"`
					} `json:"content"`
				} `json:"message"`
			}
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || !strings.HasPrefix(string(rec.Message.Content.Value), `{"sha256":"`) {
				t.Fatalf("a message's content reached the archive: %s", rec.Message.Content.Value)
			}
		}
	}
	if len(actors) != n {
		t.Fatalf("the archive holds %d records, the files %d", len(actors), n)
	}
	if len(types) < 4 {
		t.Errorf("records of %d types, want several: %v", len(types), types)
	}
	rows := cgRow.FindAllStringSubmatch(out, -1)
	if len(rows) != n {
		t.Fatalf("the table has %d rows, want %d:\n%s", len(rows), n, out)
	}
	kinds := map[string]bool{}
	for _, r := range rows {
		want := strings.TrimSpace(cell(actors[r[3]], actorWidth))
		if strings.TrimSpace(r[2]) != want {
			t.Errorf("row of %s shows actor %q, want %q", r[3], strings.TrimSpace(r[2]), want)
		}
		switch {
		case strings.Contains(want, "@"):
			kinds["user"] = true
		case strings.HasPrefix(want, "sk-"):
			kinds["key"] = true
		case want != "-":
			kinds["agent"] = true
		}
	}
	if !kinds["user"] || !kinds["agent"] {
		t.Errorf("the table shows actors of kinds %v: want users and agents at least", kinds)
	}
}

// TestDemoChatGPTKafka: demo --vendor chatgpt --sink kafka writes the
// records to their own topic, exactly once, and reads them back.
func TestDemoChatGPTKafka(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, errb, code := runCLI(ctx, "demo", "--vendor", "chatgpt", "--sink", "kafka", "--events", "10", "--faults", "0", "--seed", "8")
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errb)
	}
	n := demoHolds(t, out)
	if !strings.Contains(out, "reads "+strconv.Itoa(n)+" records, one per event delivered") || !strings.Contains(out, "topic chatgpt.compliance") {
		t.Fatalf("stdout:\n%s", out)
	}
	blocks := regexp.MustCompile(`(?m)^  chatgpt\.compliance  partition \d+  offset \d+  key (\S+)\n    headers  (.*)\n(?:             (.*)\n)?    value    (\{.*)$`).FindAllStringSubmatch(out, -1)
	if len(blocks) != demoShown {
		t.Fatalf("%d records shown, want %d:\n%s", len(blocks), demoShown, out)
	}
	for _, b := range blocks {
		if !strings.Contains(b[2]+"  "+b[3], "event.schema=chatgpt.compliance_log") || !strings.HasPrefix(b[4], `{"event_id":"`+b[1]+`"`) {
			t.Errorf("record %s: headers %q, value %q", b[1], b[2]+b[3], b[4])
		}
	}
}

func TestDemoVendorRefused(t *testing.T) {
	if _, errs, code := runCLI(t.Context(), "demo", "--vendor", "gemini"); code != exitUsage || !strings.Contains(errs, "--vendor must be openai, chatgpt or anthropic") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}
