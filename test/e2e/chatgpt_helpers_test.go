//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim/chatgptsimtest"
)

// What the system tests of the chatgpt_compliance_logs source share: the
// simulator over real HTTP in the test process, a config of the binary
// reading it, and readers of what the sinks hold.

// chatgptKey is the Compliance API key the simulator requires; the
// binary reads it from CHATGPT_COMPLIANCE_KEY.
const chatgptKey = "sk-compliance-e2e-7f3a9c"

// startChatGPTSim serves a simulator requiring chatgptKey on two loopback
// listeners bound at port 0, and puts the key in the environment the
// binary inherits. At the test's end it checks that the download host
// served files and never saw an Authorization header: the key goes to
// the API only.
func startChatGPTSim(t *testing.T, opts chatgptsim.Options) (*chatgptsim.Server, string) {
	t.Helper()
	opts.APIKey = chatgptKey
	sim, base := chatgptsimtest.Start(t, opts)
	t.Setenv("CHATGPT_COMPLIANCE_KEY", chatgptKey)
	t.Cleanup(func() { checkKeyNotOnDownload(t, sim) })
	return sim, base
}

// checkKeyNotOnDownload fails the test if a request to the download host
// carried an Authorization header, or if no file was downloaded at all
// (the check would then prove nothing).
func checkKeyNotOnDownload(t *testing.T, sim *chatgptsim.Server) {
	t.Helper()
	st := sim.Stats()
	var downloads int64
	for _, n := range st.Requests[chatgptsim.EndpointDownload] {
		downloads += n
	}
	if st.AuthOnDownload != 0 {
		t.Errorf("the download host saw an Authorization header %d times (of %d requests): the key left the API host", st.AuthOnDownload, downloads)
	}
	if downloads == 0 {
		t.Errorf("no request reached the download host: the key check proves nothing")
	}
	t.Logf("download host: %d requests (by status %v), %d with an Authorization header", downloads, st.Requests[chatgptsim.EndpointDownload], st.AuthOnDownload)
}

// chatgptConfig is a config of the source "chatgpt" reading the
// simulator's workspace at base from 720h back (extra: more keys of the
// source, each line indented four spaces), into sinks (the items of the
// sinks section), its cursor in files of the directory state, logging as
// JSON at info. Downloads are spooled to the directory spool, which
// mkSpool creates beside the config.
func chatgptConfig(base, workspace, extra, sinks string) string {
	return fmt.Sprintf(`sources:
  - name: chatgpt
    type: chatgpt_compliance_logs
    base_url: %s
    api_key: ${env:CHATGPT_COMPLIANCE_KEY}
    workspace_id: %s
    start_at: 720h
    spool_dir: spool
    retry_wait_min: 5ms
    retry_wait_max: 50ms
    max_retry_after: 20ms
%s
sinks:
%s
checkpoint:
  type: file
  dir: state
log:
  level: info
  format: json
`, base, workspace, extra, sinks)
}

// writeChatGPTConfig writes yaml as the config of a new directory, with
// its spool directory, and returns the config's path.
func writeChatGPTConfig(t *testing.T, yaml string) string {
	t.Helper()
	cfg := writeConfig(t, yaml)
	if err := os.Mkdir(filepath.Join(filepath.Dir(cfg), "spool"), 0o700); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// fileSinkYAML is a file sink writing to path.
func fileSinkYAML(path string) string {
	return fmt.Sprintf("  - name: archive\n    type: file\n    path: %s\n", path)
}

// eventIDPrefix is how every record the simulator writes begins, and so
// every line the file sink writes: the source keeps a record's bytes (it
// only replaces content values).
const eventIDPrefix = `{"event_id":"`

// sinkLines reads the complete lines of a JSONL file from offset on and
// returns the event_id of each record line, the number of lines that are
// the beginning of a record cut short (a kill in the middle of a write:
// the file sink ends such a line at its next start and writes the record
// again whole), and the offset after the last complete line. Any other
// line fails the test.
func sinkLines(t *testing.T, path string, offset int64) (ids []string, torn int, next int64) {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, 0, offset
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReaderSize(f, 1<<20)
	next = offset
	for {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			t.Fatalf("%s: a line longer than 1 MiB at offset %d", path, next)
		}
		if err != nil {
			break // EOF: a line without its newline is not complete yet
		}
		next += int64(len(line))
		line = line[:len(line)-1]
		id, ok := recordID(line)
		switch {
		case ok:
			ids = append(ids, id)
		case isTorn(line):
			torn++
		default:
			t.Fatalf("%s: line at offset %d is neither a record nor a record cut short: %.120q", path, next-int64(len(line))-1, line)
		}
	}
	return ids, torn, next
}

// recordID returns the event_id of a line that is a whole JSON record.
func recordID(line []byte) (string, bool) {
	const n = len(eventIDPrefix)
	if len(line) < n+37 || !bytes.HasPrefix(line, []byte(eventIDPrefix)) || line[n+36] != '"' || !json.Valid(line) {
		return "", false
	}
	return string(line[n : n+36]), true
}

// isTorn reports whether line is the beginning of a record cut short: a
// prefix of one (not valid JSON) that begins as every record does.
func isTorn(line []byte) bool {
	if json.Valid(line) {
		return false
	}
	n := min(len(line), len(eventIDPrefix))
	return len(line) > 0 && bytes.Equal(line[:n], []byte(eventIDPrefix)[:n])
}

// simRecord is one record the simulator serves.
type simRecord struct {
	typ  string
	line []byte // its bytes, without the newline
}

// simRecords renders every visible file of sim and returns its records
// by event_id (a record a file repeats is the same bytes).
func simRecords(t *testing.T, sim *chatgptsim.Server) map[string]simRecord {
	t.Helper()
	out := map[string]simRecord{}
	for _, f := range sim.AllFiles() {
		var b bytes.Buffer
		if ok, err := sim.WriteFile(&b, f.ID); !ok || err != nil {
			t.Fatalf("file %s: %v %v", f.ID, ok, err)
		}
		for line := range bytes.SplitSeq(bytes.TrimSuffix(b.Bytes(), []byte("\n")), []byte("\n")) {
			id, ok := recordID(line)
			if !ok {
				t.Fatalf("the simulator wrote a line that is not a record: %.120q", line)
			}
			out[id] = simRecord{typ: f.EventType, line: line}
		}
	}
	return out
}

// onceEach compares the delivered ids with the simulator's: it returns
// how many were missing, delivered more than once (extra copies) and
// unknown to the simulator, and reports the first few of each.
func onceEach(t *testing.T, what string, got []string, want []string) (missing, dups, unknown int) {
	t.Helper()
	count := make(map[string]int, len(want))
	for _, id := range got {
		count[id]++
	}
	known := make(map[string]bool, len(want))
	var examples []string
	for _, id := range want {
		known[id] = true
		if count[id] == 0 {
			if missing++; missing <= 3 {
				examples = append(examples, "missing "+id)
			}
		}
	}
	for id, n := range count {
		dups += n - 1
		if !known[id] {
			if unknown++; unknown <= 3 {
				examples = append(examples, "unknown "+id)
			}
		}
	}
	if missing+unknown > 0 {
		t.Logf("%s: %s", what, strings.Join(examples, ", "))
	}
	return missing, dups, unknown
}

// jsonStrings appends every string (member names and values, decoded) of
// the JSON value data to out: what a sink's output says, whatever its
// escaping.
func jsonStrings(t *testing.T, data []byte, out []string) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("not JSON: %v: %.120q", err, data)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for k, e := range v {
				out = append(out, k)
				walk(e)
			}
		}
	}
	walk(v)
	return out
}
