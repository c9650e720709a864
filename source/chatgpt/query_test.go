package chatgpt

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
	"github.com/auditrelay/auditrelay/source/internal/sourcetest"
)

// readAll lists the files of typ from after with c and reads every record
// of each.
func readAll(t *testing.T, c *Client, typ string, after time.Time) (files []File, events []pipeline.Event) {
	t.Helper()
	for f, err := range c.ListFiles(t.Context(), typ, after) {
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
		r, err := c.Open(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		for {
			ev, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			events = append(events, ev)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return files, events
}

// TestClientListsAndReadsWhatTheFilesHold: the client lists every file of
// a type once, in order, across pages and shared end_times, and reads each
// file's lines as its records, checked, through every download fault, with
// conversation text replaced unless keep_content; the key never reaches
// the download host and no spool file stays behind.
func TestClientListsAndReadsWhatTheFilesHold(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	types := []string{"CONVERSATION_MESSAGE", "AUDIT_LOG"}
	sim, base := startSim(t, clk, chatgptsim.Options{Seed: 7, Types: types, SharedEnd: 0.4, DuplicateFraction: 0.3,
		Faults: chatgptsim.Faults{Rate: 0.2, Kinds: []chatgptsim.FaultKind{chatgptsim.Fault500, chatgptsim.FaultMultiDoc,
			chatgptsim.FaultDigest, chatgptsim.FaultTruncate, chatgptsim.FaultShortLength}}})
	spool := t.TempDir()
	cfg := testConfig(sim, base, types...)
	cfg.PageSize = 5
	cfg.SpoolDir = spool
	c, err := NewClient(pipeline.Settings{Name: "cli"}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	lines := fileLines(t, sim, types...)
	truth := sim.Truth()
	for _, typ := range types {
		files, events := readAll(t, c, typ, t0.Add(-7*time.Hour))
		var want []string
		for _, f := range sim.Files(typ) {
			want = append(want, f.ID)
		}
		var got []string
		for _, f := range files {
			got = append(got, f.ID)
			if f.Type != typ || f.Size < 0 || f.SHA256 == "" {
				t.Fatalf("file %+v", f)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: listed %d files %v..., want %d %v...", typ, len(got), head(got), len(want), head(want))
		}
		// Every line, repeated ones too: the client does not de-duplicate.
		if len(events) != len(lines[typ]) {
			t.Fatalf("%s: %d records, the files hold %d lines", typ, len(events), len(lines[typ]))
		}
		for i, ev := range events {
			if ev.ID != eventID(t, lines[typ][i]) || ev.Source != "cli" || ev.Type != typ || ev.Schema != "chatgpt.compliance_log" {
				t.Fatalf("%s: record %d is %+v, the line says %s", typ, i, ev, eventID(t, lines[typ][i]))
			}
			for _, m := range truth.Messages {
				if len(m) > 8 && bytes.Contains(ev.Raw, []byte(m)) {
					t.Fatalf("%s: record %s holds a message's text with keep_content false", typ, ev.ID)
				}
			}
		}
	}
	st := sim.Stats()
	if st.Faults[chatgptsim.FaultDigest]+st.Faults[chatgptsim.FaultTruncate]+st.Faults[chatgptsim.FaultShortLength] == 0 {
		t.Fatal("no download was faulted: the test proves nothing of the checks")
	}
	if st.AuthOnDownload != 0 {
		t.Fatalf("the key reached the download host %d times", st.AuthOnDownload)
	}
	if left, _ := os.ReadDir(spool); len(left) != 0 {
		t.Fatalf("%d spool files left behind", len(left))
	}

	// With keep_content the text is there, as the API sent it.
	cfg.KeepContent = true
	keep, err := NewClient(pipeline.Settings{Name: "cli"}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, events := readAll(t, keep, "CONVERSATION_MESSAGE", t0.Add(-7*time.Hour))
	found := false
	for _, ev := range events {
		found = found || strings.Contains(string(ev.Raw), truth.Messages[0][:min(len(truth.Messages[0]), 20)])
	}
	if !found {
		t.Fatal("keep_content: no record holds the first message's text")
	}
}

// TestClientListFilesStopsEarly: listing from an end_time starts at the
// files at that end_time (after is inclusive), and a caller that stops
// ranging costs no further page.
func TestClientListFilesStopsEarly(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	sim, base := startSim(t, clk, chatgptsim.Options{Seed: 8, Types: []string{"AUTH_LOG"}})
	cfg := testConfig(sim, base, "AUTH_LOG")
	cfg.PageSize = 3
	c, err := NewClient(pipeline.Settings{Name: "cli"}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	all := sim.Files("AUTH_LOG")
	mid := all[len(all)/2]
	var got []string
	for f, err := range c.ListFiles(t.Context(), "AUTH_LOG", mid.EndTime) {
		if err != nil {
			t.Fatal(err)
		}
		if got = append(got, f.ID); len(got) == 4 {
			break
		}
	}
	if got[0] != mid.ID || got[3] != all[len(all)/2+3].ID {
		t.Fatalf("listed %v from %s, want %s first", got, mid.EndTime, mid.ID)
	}
	if n := sim.Stats().Requests[chatgptsim.EndpointList][http.StatusOK]; n != 2 {
		t.Fatalf("%d listings for 4 files at 3 a page, want 2", n)
	}
}

// TestClientRefusals: a config that cannot work is refused when the client
// is built, naming its key; a file gone since it was listed is ErrFileGone;
// a refused key is an error that never shows the key.
func TestClientRefusals(t *testing.T) {
	clk := sourcetest.NewClock(t0)
	sim, base := startSim(t, clk, chatgptsim.Options{Seed: 9, Types: []string{"AUDIT_LOG"}})
	cfg := testConfig(sim, base, "AUDIT_LOG")
	bad := cfg
	bad.WorkspaceID = ""
	if _, err := NewClient(pipeline.Settings{}, bad); err == nil || !strings.Contains(err.Error(), "workspace_id") {
		t.Fatalf("no workspace: %v", err)
	}
	c, err := NewClient(pipeline.Settings{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Open(t.Context(), File{ID: "eclf_nosuchfile", Type: "AUDIT_LOG", Size: -1}); !errors.Is(err, ErrFileGone) {
		t.Fatalf("open of a file that is not there: %v", err)
	}
	wrong := cfg
	wrong.APIKey = "sk-wrong-canary-91c2"
	c, err = NewClient(pipeline.Settings{}, wrong)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range c.ListFiles(t.Context(), "AUDIT_LOG", t0.Add(-7*time.Hour)) {
		if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "canary") {
			t.Fatalf("listing with a wrong key: %v", err)
		}
		break
	}
}
