package main

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/openai/openaisim"
)

// tableRows returns the lines of the demo's table in out.
func tableRows(out string) []string {
	var rows []string
	for line := range strings.SplitSeq(out, "\n") {
		if strings.Contains(line, "  audit_log-") && !strings.Contains(line, "key audit_log-") {
			rows = append(rows, line)
		}
	}
	return rows
}

// The demo stops after --events, and the window that reaches it used to
// carry the events that arrived meanwhile: 20 asked, 23 delivered.
func TestDemoDeliversExactlyTheEventsAsked(t *testing.T) {
	jsonl := filepath.Join(t.TempDir(), "demo.jsonl")
	// 20% of requests failing: retries must not add events either.
	// A demo that never reaches --events would run on: give up after a
	// minute and report what it delivered.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, errb, code := runCLI(ctx, "demo", "--events", "20", "--faults", "0.2", "--out", jsonl,
		"--seed", strconv.FormatInt(seedWithTenantEvent(t, 20), 10))
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errb)
	}
	ids := readIDs(t, jsonl)
	if _, dups := countIDs(ids); len(ids) != 20 || dups != 0 {
		t.Fatalf("the archive holds %d events (%d duplicates), want 20", len(ids), dups)
	}
	if !strings.Contains(out, "\n20 events delivered in ") {
		t.Errorf("the summary does not report 20 events delivered:\n%s", out)
	}
	if rows := tableRows(out); len(rows) != 20 {
		t.Errorf("the table has %d rows, want 20:\n%s", len(rows), out)
	}
	if regexp.MustCompile(`\b1 injected faults|\b1 faults`).MatchString(out) {
		t.Errorf("the summary says one fault in the plural:\n%s", out)
	}
}

// seedWithTenantEvent returns a simulator seed whose first n events, as
// the demo serves them, include a tenant.* one, which the demo's source
// does not read: the demo must serve one more.
func seedWithTenantEvent(t *testing.T, n int) int64 {
	t.Helper()
	for seed := int64(1); seed < 1000; seed++ {
		sim := openaisim.New(openaisim.Options{Seed: seed, Events: n * 3 / 4, Span: 24 * time.Hour, Rate: demoRate})
		for i := range n {
			if bytes.Contains(sim.Event(i), []byte(`"type":"tenant.`)) {
				return seed
			}
		}
	}
	t.Fatal("no seed below 1000 has a tenant.* event among its first events")
	return 0
}

func TestDescribeFaults(t *testing.T) {
	for _, tc := range []struct {
		faults  map[openaisim.FaultKind]int64
		retried bool
		want    string
	}{
		{nil, true, "no injected faults"},
		{map[openaisim.FaultKind]int64{openaisim.Fault429: 0}, true, "no injected faults"},
		{map[openaisim.FaultKind]int64{openaisim.Fault429: 1}, true, "1 injected fault (an HTTP 429, retried)"},
		{map[openaisim.FaultKind]int64{openaisim.FaultTruncated: 1}, false, "1 injected fault (a truncated body)"},
		{map[openaisim.FaultKind]int64{openaisim.FaultOversize: 1}, true, "1 injected fault (an oversize page, retried)"},
		{map[openaisim.FaultKind]int64{openaisim.Fault500: 1, openaisim.FaultGarbled: 2}, true,
			"3 injected faults (2 garbled bodies, 1 HTTP 500), all retried"},
		{map[openaisim.FaultKind]int64{openaisim.Fault503: 2, openaisim.Fault429: 2}, false,
			"4 injected faults (2 HTTP 429s, 2 HTTP 503s)"},
	} {
		if got := describeFaults(tc.faults, tc.retried); got != tc.want {
			t.Errorf("describeFaults(%v, %v) = %q, want %q", tc.faults, tc.retried, got, tc.want)
		}
	}
}

// Long e-mail addresses and types used to push the columns to the right.
func TestDemoTableKeepsColumnsAligned(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	events := []pipeline.Event{
		{ID: "audit_log-0000000000000001_20250301", Type: "login.failed", Time: at, ActorEmail: "ada@acme.example"},
		{ID: "audit_log-0000000000000002_20250301", Type: "workload_identity_provider_mapping.created", Time: at,
			ActorEmail: "bartholomew.featherstonehaugh@umbrella-corporation.example"},
		{ID: "audit_log-0000000000000003_20250301", Type: "api_key.created", Time: at, ActorID: "svc_acct_abc"},
		{ID: "audit_log-0000000000000004_20250301", Type: "tenant.user.added", Time: at},
		{ID: "audit_log-0000000000000005_20250301", Type: "login.succeeded", Time: at,
			ActorEmail: "grüße.müller-lüdenscheidt@example.example"},
	}
	var out bytes.Buffer
	s := &screen{w: &out}
	if err := s.Consume(t.Context(), pipeline.Batch{Source: "demo-org", Events: events}); err != nil {
		t.Fatal(err)
	}
	lines := append([]string{strings.TrimSuffix(openaiScreen.header(), "\n")}, strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")...)
	if len(lines) != len(events)+1 {
		t.Fatalf("%d lines for %d events:\n%s", len(lines)-1, len(events), out.String())
	}
	// Every column starts where the header's does: compare in characters,
	// as a terminal shows them.
	cols := func(line string) []int {
		var starts []int
		r := []rune(line)
		for i := 1; i < len(r); i++ {
			if r[i] != ' ' && r[i-1] == ' ' && i >= 2 && r[i-2] == ' ' {
				starts = append(starts, i)
			}
		}
		return starts
	}
	want := cols(lines[0])
	if len(want) != 3 {
		t.Fatalf("header %q has columns at %v", lines[0], want)
	}
	for _, line := range lines[1:] {
		if got := cols(line); !slices.Equal(got, want) {
			t.Errorf("columns at %v, the header's at %v:\n%s\n%s", got, want, lines[0], line)
		}
		if n := utf8.RuneCountInString(line); n > 120 {
			t.Errorf("row of %d characters, more than 120: %s", n, line)
		}
	}
	for _, w := range []string{"bartholomew.featherstonehaugh…", "workload_identity_provider_m…", "svc_acct_abc", "audit_log-0000000000000002_20250301"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("the table lacks %q:\n%s", w, out.String())
		}
	}
}

// recordBlock matches one record of the read-back: where it is, its key,
// its headers (wrapped) and its value.
var recordBlock = regexp.MustCompile(`(?m)^  openai\.audit  partition (\d+)  offset (\d+)  key (audit_log-\S+)\n    headers  (.*)\n(?:             (.*)\n)?    value    (\{.*)$`)

func TestDemoKafkaReadsBackWhatWasDelivered(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, errb, code := runCLI(ctx, "demo", "--sink", "kafka", "--events", "8", "--faults", "0")
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errb)
	}
	for _, w := range []string{
		"\n8 events delivered in ",
		"reads 8 records, one per event delivered",
		"isolation read_committed",
		"in memory",
		"--keep",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("stdout lacks %q:\n%s", w, out)
		}
	}
	if rows := tableRows(out); len(rows) != 8 {
		t.Errorf("the table has %d rows, want 8:\n%s", len(rows), out)
	}
	blocks := recordBlock.FindAllStringSubmatch(out, -1)
	if len(blocks) != demoShown {
		t.Fatalf("%d records shown, want %d:\n%s", len(blocks), demoShown, out)
	}
	for _, b := range blocks {
		key, headers, value := b[3], b[4]+"  "+b[5], b[6]
		for _, h := range []string{"event.type=", "event.id=" + key, "event.source=demo-org", "event.schema=openai.audit_log"} {
			if !strings.Contains(headers, h) {
				t.Errorf("record %s: headers %q lack %q", key, headers, h)
			}
		}
		if !strings.HasPrefix(value, `{"id":"`+key+`"`) {
			t.Errorf("record %s: value %q is not the event", key, value)
		}
	}
}

// With --keep the broker outlives the demo until Ctrl-C: another client can
// read the topic meanwhile.
func TestDemoKafkaKeepServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		m := &Main{Stdout: &out, Stderr: &errb}
		done <- m.Run(ctx, []string{"demo", "--sink", "kafka", "--events", "6", "--faults", "0", "--keep"})
	}()
	kcat := regexp.MustCompile(`kcat -C -b (127\.0\.0\.1:\d+) -t openai\.audit `)
	var addr string
	for addr == "" {
		changed := out.changed()
		if m := kcat.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case <-changed:
		case code := <-done:
			t.Fatalf("demo ended (exit %d) before offering the broker\nstdout: %s\nstderr: %s", code, out.String(), errb.String())
		}
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(demoTopic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithTimeout(ctx, time.Minute)
	defer rcancel()
	keys := map[string]bool{}
	for len(keys) < 6 {
		fs := cl.PollFetches(rctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("reading the kept broker: %v", err)
		}
		fs.EachRecord(func(r *kgo.Record) { keys[string(r.Key)] = true })
	}
	cl.Close()
	select {
	case code := <-done:
		t.Fatalf("demo ended (exit %d) without Ctrl-C", code)
	default:
	}

	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d after Ctrl-C\nstderr: %s", code, errb.String())
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatalf("the broker at %s still accepts connections after the demo ended", addr)
	}
}
