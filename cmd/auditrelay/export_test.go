package main

import (
	"context"
	"encoding/csv"
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
	if format == "jsonl" {
		return jsonlIDs(t, string(b))
	}
	r := csv.NewReader(strings.NewReader(string(b)))
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if recs[0][0] != "id" {
		t.Fatalf("header %v", recs[0])
	}
	var ids []string
	for _, rec := range recs[1:] {
		ids = append(ids, rec[0])
	}
	return ids
}
