//go:build e2e

package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	schema "github.com/auditrelay/auditrelay/schema/chatgpt"
	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
)

// chatgptOutput is what one run left in its three sinks.
type chatgptOutput struct {
	file  [][]byte          // the file sink's lines
	kafka []kcatRecord      // the topic, as kcat reads it
	otlp  []otlpRecord      // the collector's records
	raw   map[string][]byte // each sink's bytes, for a plain grep
}

// otlpRecord is one log record the collector's file exporter wrote.
type otlpRecord struct {
	eventName string
	severity  string
	ts        time.Time
	attrs     map[string]any
	body      map[string]any
}

// readCollectorFile parses the OTLP JSON lines of a stopped collector.
func readCollectorFile(t *testing.T, path string) (recs []otlpRecord, raw []byte) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for line := range bytes.SplitSeq(bytes.TrimSpace(raw), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(line)
		if err != nil {
			t.Fatalf("collector output: %v", err)
		}
		for i := range ld.ResourceLogs().Len() {
			sls := ld.ResourceLogs().At(i).ScopeLogs()
			for j := range sls.Len() {
				lrs := sls.At(j).LogRecords()
				for k := range lrs.Len() {
					lr := lrs.At(k)
					r := otlpRecord{eventName: lr.EventName(), severity: lr.SeverityText(), ts: lr.Timestamp().AsTime(), attrs: lr.Attributes().AsRaw()}
					if lr.Body().Type() == pcommon.ValueTypeMap {
						r.body = lr.Body().Map().AsRaw()
					}
					recs = append(recs, r)
				}
			}
		}
	}
	return recs, raw
}

// TestChatGPTRedactionAndSinks runs the binary on every event type of the
// simulator into three sinks at once: the file sink, Kafka (the project's
// broker in its own process, read back with kcat) and a real
// OpenTelemetry Collector over OTLP/gRPC (its file exporter's output read
// back). Twice: with the defaults, no conversation text and no secret a
// person pasted reaches any of the three (each sink's output decoded, and
// grepped as bytes), each content value replaced by the digest of the
// text; with keep_content: true, every text arrives unchanged and every
// record is the simulator's bytes. Both times each sink holds every
// event_id once: Kafka with the headers event.id, event.type,
// event.vendor, event.schema and event.source, the collector with the
// attributes schema/chatgpt's reading gives (its type in event.name,
// auditrelay.vendor, chatgpt.event.id, the workspace, the person as
// user.email) and the level of ChatGPT's severity table.
func TestChatGPTRedactionAndSinks(t *testing.T) {
	if _, err := exec.LookPath("kcat"); err != nil {
		t.Fatal("kcat is not on PATH: `apt-get install kcat` (.ci/run installs it)")
	}
	sim, base := startChatGPTSim(t, chatgptsim.Options{Seed: 71, Interval: 2 * time.Hour,
		Start: time.Now().Add(-24 * time.Hour).Truncate(time.Hour), Lines: 12})
	truth := sim.Truth()
	recs := simRecords(t, sim)
	if len(recs) != len(truth.EventIDs) {
		t.Fatalf("%d records rendered, Truth has %d", len(recs), len(truth.EventIDs))
	}
	// The texts to look for: the conversation messages long enough not to
	// occur by chance in anything else, and the secrets pasted into
	// messages, app calls and agent messages.
	var texts []string
	for _, m := range truth.Messages {
		if utf8.RuneCountInString(m) >= 24 {
			texts = append(texts, m)
		}
	}
	if len(texts) < 10 || len(truth.Secrets) < 10 {
		t.Fatalf("only %d messages and %d secrets to look for", len(texts), len(truth.Secrets))
	}
	t.Logf("%d records of %d types in %d files; looking for %d conversation texts (of %d) and %d secrets",
		len(recs), len(chatgptsim.KnownTypes), truth.Files, len(texts), len(truth.Messages), len(truth.Secrets))
	broker := startKfakeBroker(t, "chatgpt-redacted", "chatgpt-content")

	run := func(t *testing.T, topic, extra string) chatgptOutput {
		t.Helper()
		out := filepath.Join(t.TempDir(), "otlp.jsonl")
		col := startCollector(t, 0, 0, out)
		sinks := fileSinkYAML("archive.jsonl") + fmt.Sprintf(`  - name: kafka
    type: kafka
    brokers: [%s]
    topic: %s
    key: id
    retry: {initial_interval: 50ms, max_interval: 500ms}
`, broker, topic) + otlpSink("otel", "grpc", fmt.Sprintf("127.0.0.1:%d", col.grpcPort))
		cfg := writeChatGPTConfig(t, chatgptConfig(base, sim.WorkspaceID(), extra, sinks))
		if _, stderr, code := runAuditrelay(t, 2*time.Minute, "run", "-c", cfg, "--once"); code != 0 {
			t.Fatalf("auditrelay exited %d:\n%s", code, stderr)
		}
		// auditrelay exited 0: every sink took every record. Stopping the
		// collector flushes its file exporter.
		col.stop(t)
		var o chatgptOutput
		o.raw = map[string][]byte{}
		var err error
		if o.raw["file"], err = os.ReadFile(filepath.Join(filepath.Dir(cfg), "archive.jsonl")); err != nil {
			t.Fatal(err)
		}
		o.file = bytes.Split(bytes.TrimSuffix(o.raw["file"], []byte("\n")), []byte("\n"))
		o.kafka = kcatConsume(t, broker, topic)
		var kb bytes.Buffer
		for _, r := range o.kafka {
			fmt.Fprintf(&kb, "%s\t%v\t%s\n", r.key, r.headers, r.value)
		}
		o.raw["kafka"] = kb.Bytes()
		o.otlp, o.raw["otlp"] = readCollectorFile(t, out)
		checkChatGPTSinks(t, o, recs)
		return o
	}

	t.Run("redacted by default", func(t *testing.T) {
		o := run(t, "chatgpt-redacted", "")
		for sink, words := range sinkStrings(t, o) {
			for _, set := range []struct {
				what  string
				texts []string
			}{{"conversation text", texts}, {"secret", truth.Secrets}} {
				leaked := 0
				for _, x := range set.texts {
					if strings.Contains(words, x) || bytes.Contains(o.raw[sink], []byte(x)) {
						if leaked++; leaked <= 3 {
							t.Errorf("%s: a %s reached the sink: %.80q", sink, set.what, x)
						}
					}
				}
				t.Logf("%s: %d of %d %ss found", sink, leaked, len(set.texts), set.what)
			}
		}
		// What replaced each message is the digest and the length of its
		// text, and every other byte is the simulator's.
		digests := 0
		for _, line := range o.file {
			id, _ := recordID(line)
			want := recs[id]
			var got, orig struct {
				Type    string
				Message struct {
					Content struct{ Value json.RawMessage }
				}
			}
			if json.Unmarshal(line, &got) != nil || json.Unmarshal(want.line, &orig) != nil {
				t.Fatalf("record %s is not JSON", id)
			}
			if got.Type != schema.TypeConversationMessage {
				if !bytes.Equal(line, want.line) && len(schema.ContentPaths(got.Type)) == 0 {
					t.Errorf("record %s of %s, which holds no content, was changed:\n got %s\nwant %s", id, got.Type, line, want.line)
				}
				continue
			}
			var text string
			var d struct {
				SHA256 string
				Length int
			}
			if json.Unmarshal(orig.Message.Content.Value, &text) != nil || json.Unmarshal(got.Message.Content.Value, &d) != nil {
				t.Fatalf("record %s: message %s became %s", id, orig.Message.Content.Value, got.Message.Content.Value)
			}
			sum := sha256.Sum256([]byte(text))
			if d.SHA256 != hex.EncodeToString(sum[:]) || d.Length != utf8.RuneCountInString(text) {
				t.Errorf("record %s: the message became %s, want the SHA-256 %x and length %d of its text", id, got.Message.Content.Value, sum, utf8.RuneCountInString(text))
			}
			digests++
		}
		if digests == 0 {
			t.Error("no conversation message in the file sink")
		}
		t.Logf("%d conversation messages replaced by their digest", digests)
	})

	t.Run("keep_content", func(t *testing.T) {
		o := run(t, "chatgpt-content", "    keep_content: true")
		for sink, words := range sinkStrings(t, o) {
			for _, set := range []struct {
				what  string
				texts []string
			}{{"conversation text", truth.Messages}, {"secret", truth.Secrets}} {
				absent := 0
				for _, x := range set.texts {
					if !strings.Contains(words, "\x00"+x+"\x00") && (set.what != "secret" || !strings.Contains(words, x)) {
						if absent++; absent <= 3 {
							t.Errorf("%s: a %s did not arrive unchanged: %.80q", sink, set.what, x)
						}
					}
				}
				t.Logf("%s: %d of %d %ss found", sink, len(set.texts)-absent, len(set.texts), set.what)
			}
		}
		// Every record is the simulator's bytes, in the file and in Kafka.
		for i, line := range o.file {
			id, _ := recordID(line)
			if !bytes.Equal(line, recs[id].line) {
				t.Fatalf("file sink line %d (%s) is not the simulator's record:\n got %s\nwant %s", i+1, id, line, recs[id].line)
			}
		}
		for _, r := range o.kafka {
			if want := recs[r.key].line; r.value != string(want) {
				t.Fatalf("Kafka record %s is not the simulator's record:\n got %s\nwant %s", r.key, r.value, want)
			}
		}
	})
}

// sinkStrings returns, for each sink of o, every string its output holds
// (JSON decoded: member names and values, Kafka's keys and headers too),
// each between NUL bytes, so that a text can be looked for whole or as
// part of a value.
func sinkStrings(t *testing.T, o chatgptOutput) map[string]string {
	t.Helper()
	join := func(words []string) string { return "\x00" + strings.Join(words, "\x00") + "\x00" }
	var file, kafka []string
	for _, line := range o.file {
		file = jsonStrings(t, line, file)
	}
	for _, r := range o.kafka {
		kafka = append(kafka, r.key)
		for k, v := range r.headers {
			kafka = append(kafka, k, v)
		}
		kafka = jsonStrings(t, []byte(r.value), kafka)
	}
	var otlp []string
	for line := range bytes.SplitSeq(bytes.TrimSpace(o.raw["otlp"]), []byte("\n")) {
		otlp = jsonStrings(t, line, otlp)
	}
	return map[string]string{"file": join(file), "kafka": join(kafka), "otlp": join(otlp)}
}

// checkChatGPTSinks checks that each sink of o holds every record of recs
// once, Kafka with the record's headers and the collector with the
// attributes that route it.
func checkChatGPTSinks(t *testing.T, o chatgptOutput, recs map[string]simRecord) {
	t.Helper()
	want := make([]string, 0, len(recs))
	for id := range recs {
		want = append(want, id)
	}
	var fileIDs []string
	for _, line := range o.file {
		id, ok := recordID(line)
		if !ok {
			t.Fatalf("file sink: a line that is not a record: %.120q", line)
		}
		fileIDs = append(fileIDs, id)
	}
	var kafkaIDs []string
	bad := 0
	for _, r := range o.kafka {
		id, _ := recordID([]byte(r.value))
		kafkaIDs = append(kafkaIDs, id)
		wantH := map[string]string{"event.id": id, "event.type": recs[id].typ, "event.vendor": "chatgpt",
			"event.schema": schema.Schema, "event.source": "chatgpt"}
		for k, v := range wantH {
			if r.headers[k] != v || r.key != id {
				if bad++; bad <= 5 {
					t.Errorf("Kafka record %s: key %q, header %s = %q, want %q", id, r.key, k, r.headers[k], v)
				}
			}
		}
	}
	// The OTLP sink maps a ChatGPT record with schema/chatgpt: its id under
	// chatgpt.event.id, the person accountable for it (the user, or the
	// person an agent acted for) as user.email, its workspace, and its
	// level from ChatGPT's table; no OpenAI attribute.
	var otlpIDs []string
	levels := map[string]int{}
	for _, r := range o.otlp {
		id, _ := r.body["event_id"].(string)
		otlpIDs = append(otlpIDs, id)
		rec := recs[id]
		var ts struct{ Timestamp time.Time }
		_ = json.Unmarshal(rec.line, &ts)
		f, err := schema.ReadObject(rec.line)
		if err != nil {
			t.Fatalf("simulator record %s: %v", id, err)
		}
		email, hasEmail := r.attrs["user.email"]
		wantEmail := f.Actor().AccountEmail()
		var openai []string
		for k := range r.attrs {
			if strings.HasPrefix(k, "openai.") {
				openai = append(openai, k)
			}
		}
		if r.attrs["chatgpt.event.id"] != id || r.eventName != rec.typ || r.attrs["event.name"] != rec.typ || r.attrs["auditrelay.vendor"] != "chatgpt" ||
			!r.ts.Equal(ts.Timestamp) || r.attrs["chatgpt.workspace.id"] != f.WorkspaceID() || (wantEmail != "") != hasEmail ||
			hasEmail && email != wantEmail || r.severity != string(f.Severity(nil)) || len(openai) > 0 {
			if bad++; bad <= 5 {
				t.Errorf("collector record %s: event name %q, severity %q, attributes %v, time %v; want type %s, vendor chatgpt, chatgpt.event.id, "+
					"workspace %s, user.email %q, severity %s, no openai.* attribute, time %v",
					id, r.eventName, r.severity, r.attrs, r.ts, rec.typ, f.WorkspaceID(), wantEmail, f.Severity(nil), ts.Timestamp)
			}
		}
		levels[r.severity]++
	}
	for sink, ids := range map[string][]string{"file": fileIDs, "kafka": kafkaIDs, "otlp": otlpIDs} {
		missing, dups, unknown := onceEach(t, sink, ids, want)
		if missing+dups+unknown > 0 {
			t.Errorf("%s: %d records, %d missing, %d twice, %d unknown", sink, len(ids), missing, dups, unknown)
		}
	}
	if levels["medium"] == 0 || levels["high"] == 0 {
		t.Errorf("the collector's records are at levels %v: no failed sign-in or role change ranked above info", levels)
	}
	t.Logf("file %d, kafka %d, collector %d records; the collector's levels: %v", len(fileIDs), len(kafkaIDs), len(otlpIDs), levels)
}
