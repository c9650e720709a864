package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/openai/openaisim"
)

func TestExportInterruptedAndResumed(t *testing.T) {
	for _, tc := range []struct {
		name, api, format string
	}{
		{"audit csv", "audit", "csv"},
		{"requests jsonl", "requests", "jsonl"},
		{"requests csv", "requests", "csv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var requests atomic.Int64
			var cancel atomic.Pointer[context.CancelFunc]
			sim, base := querySim(t, openaisim.Faults{}, func(r *http.Request) {
				if requests.Add(1) == 6 {
					if c := cancel.Load(); c != nil {
						(*c)()
					}
				}
			})
			want := sim.VisibleIDs(time.Now().Add(time.Hour))
			if tc.api == "requests" {
				want = sim.VisibleLogIDs(time.Now().Add(time.Hour))
			}
			want = newestFirst(want, 0)
			out := filepath.Join(t.TempDir(), "export."+tc.format)
			args := []string{"export", "--api", tc.api, "--base-url", base, "--since", "72h", "-o", tc.format, "--out", out}

			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			cancel.Store(&stop)
			_, errs, code := runCLI(ctx, args...)
			if code != exitFailure || !strings.Contains(errs, "--resume") {
				t.Fatalf("interrupted export: exit %d, %s", code, errs)
			}
			// A torn write after the last recorded page, as a crash leaves it.
			f, err := os.OpenFile(out, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(`{"id":"torn`)
			f.Close()
			// Starting over without --resume is refused.
			if _, errs, code := runCLI(context.Background(), args...); code != exitUsage || !strings.Contains(errs, "--resume") {
				t.Fatalf("export over an interrupted one: exit %d, %s", code, errs)
			}
			_, errs, code = runCLI(context.Background(), append(args, "--resume")...)
			if code != 0 || !strings.Contains(errs, "resuming") {
				t.Fatalf("resume: exit %d, %s", code, errs)
			}
			if _, err := os.Stat(statePath(out)); !os.IsNotExist(err) {
				t.Fatal("state file left behind after a finished export")
			}
			got := exportedIDs(t, out, tc.format)
			if !slices.Equal(got, want) {
				t.Fatalf("exported %d ids, want %d: a gap or a duplicate", len(got), len(want))
			}
			if _, errs, code := runCLI(context.Background(), append(args, "--resume")...); code != exitUsage || !strings.Contains(errs, "nothing to resume") {
				t.Fatalf("resume of a finished export: exit %d, %s", code, errs)
			}
		})
	}
}

func exportedIDs(t *testing.T, path, format string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return exportIDs(t, string(b), format, "id")
}

// exportIDs reads the ids of the events an export wrote in format: the
// field idField of each JSON line, or the first column of the CSV, which
// idField heads.
func exportIDs(t *testing.T, content, format, idField string) []string {
	t.Helper()
	if format == "jsonl" {
		return jsonlField(t, content, idField)
	}
	recs, err := csv.NewReader(strings.NewReader(content)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 || recs[0][0] != idField {
		t.Fatalf("header %v, want %s first", recs[:min(1, len(recs))], idField)
	}
	var ids []string
	for _, rec := range recs[1:] {
		ids = append(ids, rec[0])
	}
	return ids
}

// exportResumed runs export args, which write to out, until the
// simulator's hook calls the stop that cancel holds: the export must
// fail and say to --resume. It runs them again with --resume, stderr a
// terminal: the export must finish saying it resumes, and leave no state
// file. It returns what each run wrote to stderr and what out holds.
func exportResumed(t *testing.T, run cliRunner, cancel *atomic.Pointer[context.CancelFunc], args []string, out string) (interrupted, resumed, exported string) {
	t.Helper()
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	cancel.Store(&stop)
	_, interrupted, code := run(ctx, false, args...)
	if code != exitFailure || !strings.Contains(interrupted, "--resume") {
		t.Fatalf("interrupted export: exit %d, %s", code, interrupted)
	}
	cancel.Store(nil)
	_, resumed, code = run(t.Context(), true, append(args, "--resume")...)
	if code != 0 || !strings.Contains(resumed, "resuming") {
		t.Fatalf("resume: exit %d, %s", code, resumed)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(statePath(out)); !os.IsNotExist(err) {
		t.Fatal("state file left behind")
	}
	return interrupted, resumed, string(b)
}

// TestExportToStdout: --out - (and -o -, as curl spells it) writes the
// events to stdout and nothing else; what it says goes to stderr, and
// there is no state file, so no resume.
func TestExportToStdout(t *testing.T) {
	sim, base := querySim(t, openaisim.Faults{}, nil)
	want := newestFirst(sim.VisibleIDs(time.Now().Add(time.Hour)), 0)
	t.Chdir(t.TempDir())
	for _, tc := range []struct {
		name, format string
		args         []string
	}{
		{"--out - jsonl", "jsonl", []string{"--out", "-", "-o", "jsonl"}},
		{"--out - csv by default", "csv", []string{"--out", "-"}},
		{"-o -", "csv", []string{"-o", "-"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			var errb termBuffer // a terminal: the progress goes there
			m := &Main{Stdout: &out, Stderr: &errb, Environ: []string{"OPENAI_ADMIN_KEY=" + queryKey}}
			if code := m.Run(context.Background(), append([]string{"export", "--base-url", base, "--since", "3d"}, tc.args...)); code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			if got := exportIDs(t, out.String(), tc.format, "id"); !slices.Equal(got, want) {
				t.Fatalf("stdout holds %d events, want %d", len(got), len(want))
			}
			errs := errb.String()
			if !strings.Contains(errs, "\r\033[Kexport: ") || !strings.Contains(errs, fmt.Sprintf("exported %d events (%d this run, ", len(want), len(want))) || !strings.Contains(errs, "to stdout") {
				t.Fatalf("stderr:\n%q", errs)
			}
			if entries, _ := os.ReadDir("."); len(entries) != 0 {
				t.Fatalf("files left in the working directory: %v", entries)
			}
		})
	}
	// stdout on the terminal too: no progress line through the events.
	var out, errb termBuffer
	m := &Main{Stdout: &out, Stderr: &errb, Environ: []string{"OPENAI_ADMIN_KEY=" + queryKey}}
	if code := m.Run(context.Background(), []string{"export", "--base-url", base, "--since", "3d", "--out", "-"}); code != 0 || strings.Contains(errb.String(), "\r") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	for _, args := range [][]string{
		{"--out", "-", "--resume"},
		{"-o", "-", "--out", "file.csv"},
		{"-o", "table", "--out", "-"},
		{},
	} {
		if _, errs, code := runCLI(context.Background(), append([]string{"export", "--base-url", base}, args...)...); code != exitUsage {
			t.Errorf("%v: exit %d, %s", args, code, errs)
		}
	}
}

// TestExportProgressResumes: a resumed export's progress starts where the
// interrupted one stopped, from the state file.
func TestExportProgressResumes(t *testing.T) {
	var requests atomic.Int64
	var cancel atomic.Pointer[context.CancelFunc]
	_, base := querySim(t, openaisim.Faults{}, func(r *http.Request) {
		if requests.Add(1) == 8 {
			(*cancel.Load())()
		}
	})
	out := filepath.Join(t.TempDir(), "export.jsonl")
	args := []string{"export", "--base-url", base, "--since", "3d", "-o", "jsonl", "--out", out}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	cancel.Store(&stop)
	if _, errs, code := runCLI(ctx, args...); code != exitFailure {
		t.Fatalf("exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(statePath(out))
	if err != nil {
		t.Fatal(err)
	}
	var st exportState
	if err := json.Unmarshal(b, &st); err != nil || st.Pages != 7 || st.Oldest.IsZero() {
		t.Fatalf("state %s: %v", b, err)
	}
	var errb termBuffer
	m := &Main{Stdout: io.Discard, Stderr: &errb, Environ: []string{"OPENAI_ADMIN_KEY=" + queryKey}}
	if code := m.Run(context.Background(), append(args, "--resume")); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, errb.String())
	}
	// The first line drawn counts the 7 pages before and the one read now.
	first := strings.Split(errb.String(), "\r\033[K")[1]
	if want := fmt.Sprintf("export: %d events, 8 pages", st.Records+100); !strings.HasPrefix(first, want) {
		t.Fatalf("first progress line %q, want %q...", first, want)
	}
}
