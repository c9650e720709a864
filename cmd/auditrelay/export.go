package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/auditrelay/auditrelay/internal/eventcsv"
	"github.com/auditrelay/auditrelay/pipeline"
)

// exportState is the small file next to --out that makes an export
// resumable: the query, the cursor of the next page and how much of the
// output is complete. It is rewritten (temp file, fsync, rename) after each
// page whose rows were synced, and removed when the export finishes.
type exportState struct {
	V        int       `json:"v"`
	API      string    `json:"api"`
	Format   string    `json:"format"`
	Since    time.Time `json:"since"`
	Until    time.Time `json:"until"`
	Types    []string  `json:"types,omitempty"`
	Actors   []string  `json:"actors,omitempty"`
	Projects []string  `json:"projects,omitempty"`
	// After is the cursor of the next page ("" before the first).
	After string `json:"after"`
	// Offset is the size of the complete part of the output; Records the
	// events in it; Pages the pages read.
	Offset  int64 `json:"offset"`
	Records int64 `json:"records"`
	Pages   int64 `json:"pages"`
}

func statePath(out string) string { return out + ".state" }

func (st *exportState) save(path string) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func (m *Main) cmdExport(ctx context.Context, args []string) int {
	fs := m.flags("export", "--since 720h [--until T] -o csv|jsonl --out FILE [--resume]")
	q := m.addQueryFlags(fs, "720h", "csv or jsonl")
	out := fs.String("out", "", "output `file` (required)")
	resume := fs.Bool("resume", false, "continue an interrupted export of --out where it stopped")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if *out == "" {
		fmt.Fprintln(m.Stderr, "auditrelay export: --out FILE is required")
		return exitUsage
	}
	api, code, ok := m.open(q)
	if !ok {
		return code
	}
	code, err := m.export(ctx, api, q, *out, *resume)
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay export: %v\n", err)
	}
	return code
}

func (m *Main) export(ctx context.Context, api *logAPI, q *queryFlags, out string, resume bool) (int, error) {
	sp := statePath(out)
	var st exportState
	var f *os.File
	if resume {
		b, err := os.ReadFile(sp)
		if errors.Is(err, fs.ErrNotExist) {
			return exitUsage, fmt.Errorf("nothing to resume: %s does not exist (the export finished, or never started)", sp)
		}
		if err != nil {
			return exitFailure, err
		}
		if err := json.Unmarshal(b, &st); err != nil || st.V != 1 {
			return exitFailure, fmt.Errorf("%s is unreadable (%v); delete it and export again", sp, err)
		}
		if st.API != api.kind {
			return exitUsage, fmt.Errorf("%s was exported from the %s API, not %s", out, st.API, api.kind)
		}
		if f, err = os.OpenFile(out, os.O_RDWR, 0); err != nil {
			return exitFailure, err
		}
		// Drop whatever was written after the last recorded page.
		if err := f.Truncate(st.Offset); err != nil {
			f.Close()
			return exitFailure, err
		}
		if _, err := f.Seek(st.Offset, io.SeekStart); err != nil {
			f.Close()
			return exitFailure, err
		}
		fmt.Fprintf(m.Stderr, "resuming export to %s after %d events\n", out, st.Records)
	} else {
		if q.output == "table" {
			q.output = "csv"
		}
		if q.output != "csv" && q.output != "jsonl" {
			return exitUsage, fmt.Errorf("-o must be csv or jsonl, got %q", q.output)
		}
		if _, err := os.Stat(sp); err == nil {
			return exitUsage, fmt.Errorf("%s exists: an export to %s was interrupted; add --resume to continue it, or delete it to start over", sp, out)
		}
		qq, err := q.resolve(time.Now())
		if err != nil {
			return exitUsage, err
		}
		st = exportState{V: 1, API: api.kind, Format: q.output, Since: qq.since, Until: qq.until, Types: qq.types, Actors: qq.actors, Projects: qq.projects}
		if dir := filepath.Dir(out); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return exitFailure, err
			}
		}
		if f, err = os.OpenFile(out, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
			return exitFailure, err
		}
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 256<<10)
	var cw *eventcsv.Writer
	if st.Format == "csv" {
		cw = eventcsv.NewWriter(bw, api.schema())
		if !resume {
			if err := cw.WriteHeader(); err != nil {
				return exitFailure, err
			}
		}
	}
	commit := func() error {
		if cw != nil {
			if err := cw.Flush(); err != nil {
				return err
			}
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
		pos, err := f.Seek(0, io.SeekCurrent)
		if err != nil {
			return err
		}
		st.Offset = pos
		return st.save(sp)
	}
	if !resume {
		if err := commit(); err != nil {
			return exitFailure, err
		}
	}

	qq := query{since: st.Since, until: st.Until, types: st.Types, actors: st.Actors, projects: st.Projects}
	prog := newProgress(m, isTerminal(m.Stderr), st)
	started := time.Now()
	var startRecords = st.Records
	err := api.walk(ctx, qq, st.After, func(p *page, _ string) (bool, error) {
		for _, ev := range p.events {
			if err := writeExport(bw, cw, ev); err != nil {
				return false, err
			}
		}
		st.Records += int64(len(p.events))
		st.Pages++
		st.After = p.next
		if p.done {
			st.After = ""
		}
		if err := commit(); err != nil {
			return false, fmt.Errorf("writing %s: %w", out, err)
		}
		prog.update(st, p.oldest)
		return true, nil
	})
	prog.done()
	if err != nil {
		if ctx.Err() != nil {
			return exitFailure, fmt.Errorf("interrupted after %d events; run the same command with --resume to continue", st.Records)
		}
		return exitFailure, fmt.Errorf("%w (%d events written; run the same command with --resume to continue)", err, st.Records)
	}
	if err := f.Close(); err != nil {
		return exitFailure, err
	}
	if err := os.Remove(sp); err != nil {
		return exitFailure, err
	}
	took := time.Since(started)
	fmt.Fprintf(m.Stderr, "exported %d events (%d this run, %d pages) to %s in %s\n", st.Records, st.Records-startRecords, st.Pages, out, took.Round(time.Millisecond))
	return exitOK, nil
}

func writeExport(w *bufio.Writer, cw *eventcsv.Writer, ev pipeline.Event) error {
	if cw != nil {
		return cw.Write(ev)
	}
	if _, err := w.Write(ev.Raw); err != nil {
		return err
	}
	return w.WriteByte('\n')
}

// progress draws a one-line progress bar on a terminal: events, pages,
// rate and, since pages run newest first through a known time range, an ETA.
type progress struct {
	m       *Main
	on      bool
	start   time.Time
	base    int64
	since   time.Time
	until   time.Time
	last    time.Time
	written bool
}

func newProgress(m *Main, on bool, st exportState) *progress {
	return &progress{m: m, on: on, start: time.Now(), base: st.Records, since: st.Since, until: st.Until}
}

func (p *progress) update(st exportState, oldest time.Time) {
	if !p.on || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	el := time.Since(p.start).Seconds()
	rate := float64(st.Records-p.base) / max(el, 0.001)
	line := fmt.Sprintf("\rexport: %d events, %d pages, %.0f events/s", st.Records, st.Pages, rate)
	if !oldest.IsZero() {
		span := p.until.Sub(p.since).Seconds()
		doneFrac := min(max(p.until.Sub(oldest).Seconds()/span, 0), 1)
		bar := slices.Repeat([]byte{'#'}, int(doneFrac*20))
		bar = append(bar, slices.Repeat([]byte{'.'}, 20-len(bar))...)
		line += fmt.Sprintf(" [%s] %3.0f%%", bar, 100*doneFrac)
		if doneFrac > 0.01 {
			eta := time.Duration(el * (1 - doneFrac) / doneFrac * float64(time.Second))
			line += " ETA " + eta.Round(time.Second).String()
		}
	}
	fmt.Fprint(p.m.Stderr, line+"   ")
	p.written = true
}

func (p *progress) done() {
	if p.written {
		fmt.Fprintln(p.m.Stderr)
	}
}
