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
	// Oldest is the time of the oldest event read: a resumed export's
	// progress starts from the part of the range read before. Over the
	// compliance logs, read oldest first, it is the end_time of the last
	// file read, Pages counts files, and After marks the files done.
	Oldest time.Time `json:"oldest,omitzero"`
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
	fs := m.flags("export", "[--api audit|requests|chatgpt|anthropic] [--since 30d] [--until T] [-o csv|jsonl] --out FILE|- [--resume]")
	q := m.addQueryFlags(fs, "30d", "csv", "jsonl")
	out := fs.String("out", "", "output `file`, or - for stdout (required)")
	resume := fs.Bool("resume", false, "continue an interrupted export of --out where it stopped")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	// -o is the format, but "-o -" is how curl and others say "to stdout",
	// and "-" is no format: it can mean nothing else.
	if q.output == "-" {
		if *out != "" && *out != "-" {
			fmt.Fprintf(m.Stderr, "auditrelay export: -o is the format (csv or jsonl); -o - asks for stdout, but --out is %s\n", *out)
			return exitUsage
		}
		q.output, *out = q.outputs[0], "-"
	}
	if err := q.checkOutput(); err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay export: %v\n", err)
		return exitUsage
	}
	if *out == "" {
		fmt.Fprintln(m.Stderr, "auditrelay export: --out FILE is required (--out - writes to stdout)")
		return exitUsage
	}
	if *out == "-" && *resume {
		fmt.Fprintln(m.Stderr, "auditrelay export: --resume needs --out FILE: an export to stdout keeps no state to resume from")
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

// export writes the events of q to the file out, or to stdout when out is
// "-". A file is synced and its state saved after every page, so that an
// interrupted export can resume; stdout is only flushed, and cannot.
func (m *Main) export(ctx context.Context, api *logAPI, q *queryFlags, out string, resume bool) (int, error) {
	toStdout := out == "-"
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
		qq, err := q.resolve(time.Now())
		if err != nil {
			return exitUsage, err
		}
		st = exportState{V: 1, API: api.kind, Format: q.output, Since: qq.since, Until: qq.until, Types: qq.types, Actors: qq.actors, Projects: qq.projects}
		if !toStdout {
			if _, err := os.Stat(sp); err == nil {
				return exitUsage, fmt.Errorf("%s exists: an export to %s was interrupted; add --resume to continue it, or delete it to start over", sp, out)
			}
			if dir := filepath.Dir(out); dir != "" {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return exitFailure, err
				}
			}
			if f, err = os.OpenFile(out, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
				return exitFailure, err
			}
		}
	}
	var w io.Writer = m.Stdout
	if f != nil {
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 256<<10)
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
		if toStdout {
			return nil
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
	// A line redrawn on the terminal that also shows the events would
	// break them up: with --out -, progress needs stdout elsewhere.
	on := drawsProgress(m.Stderr) && !(toStdout && drawsProgress(m.Stdout))
	prog := newWalkProgress(m.Stderr, "export", on, st.Since, st.Until, st.Records, st.Pages, st.Oldest)
	if api.kind == apiChatGPT {
		prog.overFiles(true) // the files are read oldest first
	}
	qq := query{since: st.Since, until: st.Until, types: st.Types, actors: st.Actors, projects: st.Projects}
	started := time.Now()
	startRecords := st.Records
	complete := false
	err := api.units(ctx, qq, st.After, func(u unit) (bool, error) {
		for _, ev := range u.events {
			if err := writeExport(bw, cw, ev); err != nil {
				return false, err
			}
		}
		st.Records += int64(len(u.events))
		if !u.none {
			st.Pages++
		}
		st.After = u.next
		if !u.at.IsZero() {
			st.Oldest = u.at
		}
		if u.done {
			st.After = ""
			complete = true
		}
		if err := commit(); err != nil {
			return false, fmt.Errorf("writing %s: %w", out, err)
		}
		prog.update(st.Records, st.Pages, st.Oldest)
		return true, nil
	})
	prog.finish(complete)
	name := out
	if toStdout {
		name = "stdout"
	}
	if err != nil {
		again := "; run the same command with --resume to continue"
		if toStdout {
			again = ""
		}
		if ctx.Err() != nil {
			return exitFailure, fmt.Errorf("interrupted after %d events written to %s%s", st.Records, name, again)
		}
		return exitFailure, fmt.Errorf("%w (%d events written to %s%s)", err, st.Records, name, again)
	}
	if !toStdout {
		if err := f.Close(); err != nil {
			return exitFailure, err
		}
		if err := os.Remove(sp); err != nil {
			return exitFailure, err
		}
	}
	took := time.Since(started)
	fmt.Fprintf(m.Stderr, "exported %d events (%d this run, %d %s) to %s in %s\n", st.Records, st.Records-startRecords, st.Pages, prog.unit, name, took.Round(time.Millisecond))
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
