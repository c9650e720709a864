package file

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/schema/openai"
	"github.com/auditrelay/auditrelay/source/checkpoint"
	"github.com/auditrelay/auditrelay/source/openai/openaisim"
)

// export returns n JSONL lines from the simulator, audit logs and request
// logs interleaved (every third line a request log), and their ids.
func export(t testing.TB, seed int64, n int) (lines [][]byte, ids []string) {
	t.Helper()
	sim := openaisim.New(openaisim.Options{Seed: seed, Events: n, OrgLogEvents: n, Span: 24 * time.Hour})
	a, l := 0, 0
	for i := range n {
		var raw []byte
		if i%3 == 2 {
			raw = sim.Log(l)
			l++
		} else {
			raw = sim.Event(a)
			a++
		}
		var ix struct{ ID string }
		if err := json.Unmarshal(raw, &ix); err != nil || ix.ID == "" {
			t.Fatalf("simulator line %d: %v %q", i, err, raw)
		}
		lines = append(lines, raw)
		ids = append(ids, ix.ID)
	}
	return lines, ids
}

func writeLines(t testing.TB, path string, lines [][]byte, sep string) {
	t.Helper()
	var b bytes.Buffer
	for _, l := range lines {
		b.Write(l)
		b.WriteString(sep)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// collector records what it acknowledged. fail, when set, decides per
// batch (0-based) whether to refuse it.
type collector struct {
	mu      sync.Mutex
	batches []pipeline.Batch
	onBatch func(i int, b pipeline.Batch) error
}

func (c *collector) Consume(ctx context.Context, b pipeline.Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.onBatch != nil {
		if err := c.onBatch(len(c.batches), b); err != nil {
			return err
		}
	}
	evs := make([]pipeline.Event, len(b.Events))
	for i, e := range b.Events {
		e.Raw = bytes.Clone(e.Raw)
		evs[i] = e
	}
	b.Events = evs
	c.batches = append(c.batches, b)
	return nil
}

func (c *collector) ids() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, b := range c.batches {
		for _, e := range b.Events {
			out = append(out, e.ID)
		}
	}
	return out
}

func (c *collector) count() int { return len(c.ids()) }

func newSource(t testing.TB, cfg Config, stdin io.Reader) *Source {
	t.Helper()
	d := defaultConfig()
	if cfg.BatchSize == 0 {
		cfg.BatchSize = d.BatchSize
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 5 * time.Millisecond
	}
	if cfg.OnInvalidLine == "" {
		cfg.OnInvalidLine = d.OnInvalidLine
	}
	if cfg.MaxLineBytes == 0 {
		cfg.MaxLineBytes = d.MaxLineBytes
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return New(pipeline.Settings{Name: "replay"}, cfg, stdin)
}

// run runs src as the source "replay" through the engine into next.
func run(ctx context.Context, src pipeline.Source, next pipeline.Consumer, store pipeline.CursorStore, once bool, drain time.Duration) error {
	p := pipeline.Assemble(pipeline.Parts{
		Sources: map[string]pipeline.Source{"replay": src}, Sinks: map[string]pipeline.Consumer{"sink": next}, Store: store,
		Retry: pipeline.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 10 * time.Millisecond, Multiplier: 2}, DrainTimeout: drain,
	})
	return p.Run(ctx, pipeline.RunOptions{Once: once})
}

// settle lets a following source poll once more (the bubble's clock moves
// by one poll interval) and returns once it has read, delivered and gone
// back to sleep: every goroutine of the bubble is blocked.
func settle(poll time.Duration) {
	time.Sleep(poll)
	synctest.Wait()
}

// checkIDs fails unless c acknowledged exactly want, in order.
func checkIDs(t *testing.T, c *collector, what string, want []string) {
	t.Helper()
	if got := c.ids(); !slices.Equal(got, want) {
		t.Fatalf("%s: delivered %d events %v..., want exactly %d %v...", what, len(got), head(got), len(want), head(want))
	}
}

func TestReplayExport(t *testing.T) {
	lines, ids := export(t, 1, 300)
	cases := []struct {
		name      string
		batchSize int
		sep       string
		noFinalNL bool
		bom       bool
	}{
		{"one per batch", 1, "\n", false, false},
		{"batches of 7", 7, "\n", false, false},
		{"one batch", 1000, "\n", false, false},
		{"crlf", 50, "\r\n", false, false},
		{"last line without newline", 64, "\n", true, false},
		{"byte order mark", 100, "\n", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "export.jsonl")
			writeLines(t, path, lines, tc.sep)
			if tc.noFinalNL || tc.bom {
				b, _ := os.ReadFile(path)
				if tc.noFinalNL {
					b = bytes.TrimSuffix(b, []byte(tc.sep))
				}
				if tc.bom {
					b = append([]byte("\xef\xbb\xbf"), b...)
				}
				os.WriteFile(path, b, 0o600)
			}
			src := newSource(t, Config{Path: path, BatchSize: tc.batchSize}, nil)
			c := &collector{}
			store := checkpoint.NewMemory()
			if err := run(t.Context(), src, c, store, true, time.Second); err != nil {
				t.Fatal(err)
			}
			if got := c.ids(); !slices.Equal(got, ids) {
				t.Fatalf("got %d ids, want %d in file order", len(got), len(ids))
			}
			i := 0
			for _, b := range c.batches {
				if b.Source != "replay" {
					t.Fatalf("batch source: %+v", b)
				}
				if len(b.Events) == 0 || len(b.Events) > tc.batchSize {
					t.Fatalf("batch of %d events, batch_size %d", len(b.Events), tc.batchSize)
				}
				for _, e := range b.Events {
					if !bytes.Equal(e.Raw, lines[i]) {
						t.Fatalf("event %d: Raw differs from the line:\n%s\n%s", i, e.Raw, lines[i])
					}
					want := openai.SchemaAuditLog
					if i%3 == 2 {
						want = openai.SchemaRequestLog
					}
					if e.Schema != want || e.Type == "" || e.Time.IsZero() {
						t.Fatalf("event %d: schema %q type %q time %v", i, e.Schema, e.Type, e.Time)
					}
					i++
				}
			}
			// A second run finds everything acknowledged.
			again := &collector{}
			if err := run(t.Context(), src, again, store, true, time.Second); err != nil {
				t.Fatal(err)
			}
			if n := again.count(); n != 0 {
				t.Fatalf("second run delivered %d events", n)
			}
		})
	}
}

// TestKillAndResume stops the source at a random batch (ctx cancelled
// inside Consume, no drain), then runs it again from the checkpoint: every
// event arrives, in order, duplicates only from the batch in flight.
func TestKillAndResume(t *testing.T) {
	lines, ids := export(t, 2, 500)
	cases := []struct {
		name      string
		batchSize int
		ackKilled bool // the killed batch is acknowledged anyway
		fileStore bool
	}{
		{"refused batch", 7, false, false},
		{"acknowledged batch", 7, true, false},
		{"large batches", 100, false, false},
		{"file store", 13, false, true},
		{"file store acknowledged", 13, true, true},
	}
	for _, tc := range cases {
		for trial := range 4 {
			t.Run(fmt.Sprintf("%s/%d", tc.name, trial), func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, "export.jsonl")
				writeLines(t, path, lines, "\n")
				var store pipeline.CursorStore = checkpoint.NewMemory()
				if tc.fileStore {
					fs := checkpoint.NewFile(filepath.Join(dir, "state"))
					if err := fs.Start(t.Context()); err != nil {
						t.Fatal(err)
					}
					store = fs
				}
				nb := (len(lines) + tc.batchSize - 1) / tc.batchSize
				kill := rand.New(rand.NewPCG(uint64(len(tc.name)), uint64(trial))).IntN(nb)
				t.Logf("killing at batch %d of %d", kill, nb)
				ctx, cancel := context.WithCancel(t.Context())
				var killed []string
				first := &collector{onBatch: func(i int, b pipeline.Batch) error {
					if i == kill {
						for _, e := range b.Events {
							killed = append(killed, e.ID)
						}
						cancel()
						if !tc.ackKilled {
							return ctx.Err()
						}
					}
					return nil
				}}
				src := newSource(t, Config{Path: path, BatchSize: tc.batchSize}, nil)
				// The kill interrupts the window in delivery, which is
				// reported as such.
				if err := run(ctx, src, first, store, false, time.Nanosecond); err != nil && !errors.Is(err, pipeline.ErrInterrupted) {
					t.Fatal(err)
				}
				acked := first.ids()
				if !slices.Equal(acked, ids[:len(acked)]) {
					t.Fatal("first run: acknowledged events are not a prefix of the file")
				}
				second := &collector{}
				src = newSource(t, Config{Path: path, BatchSize: tc.batchSize}, nil)
				if err := run(t.Context(), src, second, store, true, time.Second); err != nil {
					t.Fatal(err)
				}
				resumed := second.ids()
				if len(resumed) == 0 {
					if len(acked) != len(ids) {
						t.Fatal("second run delivered nothing though events are missing")
					}
					return
				}
				at := slices.Index(ids, resumed[0])
				if !slices.Equal(resumed, ids[at:]) {
					t.Fatal("second run is not the rest of the file")
				}
				if at > len(acked) {
					t.Fatalf("gap: first run acknowledged %d events, second resumed at %d", len(acked), at)
				}
				for _, id := range ids[at:len(acked)] {
					if !slices.Contains(killed, id) {
						t.Fatalf("%s delivered twice but was not in the batch in flight", id)
					}
				}
			})
		}
	}
}

func TestGlob(t *testing.T) {
	lines, ids := export(t, 3, 90)
	dir := t.TempDir()
	// Written out of lexical order; a directory and another extension also
	// sit there.
	writeLines(t, filepath.Join(dir, "c.jsonl"), lines[60:], "\n")
	writeLines(t, filepath.Join(dir, "a.jsonl"), lines[:25], "\n")
	writeLines(t, filepath.Join(dir, "b.jsonl"), lines[25:60], "\n")
	writeLines(t, filepath.Join(dir, "notes.txt"), [][]byte{[]byte("not json")}, "\n")
	os.Mkdir(filepath.Join(dir, "d.jsonl"), 0o700)

	src := newSource(t, Config{Path: filepath.Join(dir, "*.jsonl"), BatchSize: 10}, nil)
	c := &collector{}
	store := checkpoint.NewMemory()
	if err := run(t.Context(), src, c, store, true, time.Second); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.ids(), ids) {
		t.Fatal("files not replayed whole in lexical order")
	}
	raw, _ := store.Load(t.Context(), "replay")
	cp, err := decodeCursor(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a.jsonl", "b.jsonl", "c.jsonl"} {
		p := filepath.Join(dir, name)
		fi, _ := os.Stat(p)
		if pos := cp.Files[p]; pos.Offset != fi.Size() || pos.Size != fi.Size() {
			t.Errorf("%s: checkpoint %+v, file size %d", name, pos, fi.Size())
		}
	}
	if len(cp.Files) != 3 {
		t.Errorf("checkpoint holds %d files, want 3", len(cp.Files))
	}

	t.Run("no match", func(t *testing.T) {
		src := newSource(t, Config{Path: filepath.Join(dir, "*.none")}, nil)
		err := run(t.Context(), src, &collector{}, checkpoint.NewMemory(), true, time.Second)
		if err == nil || !pipeline.IsPermanent(err) || !strings.Contains(err.Error(), "matches no file") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestInvalidLines(t *testing.T) {
	lines, _ := export(t, 4, 6)
	good := func(i int) string { return string(lines[i]) }
	maxLine := 0
	for _, l := range lines {
		maxLine = max(maxLine, len(l))
	}
	content := strings.Join([]string{
		good(0),
		"",                             // blank: ignored, not invalid
		"{not json",                    // 3
		good(1),                        //
		"[1,2]",                        // 5: not an object
		`{"id":"x"}`,                   // 6: no shape
		`{"id":"a","type":"t"}`,        // 7: audit without effective_at
		strings.Repeat("x", maxLine+1), // 8: too long
		good(2),
		`{"id":"r","event":"e"}`, // 10: request log without created_at
		good(3),
	}, "\n") + "\n"
	cases := []struct {
		name       string
		mode       string
		wantErr    string
		wantEvents int
		wantSkip   int64
	}{
		{"fail", InvalidFail, "bad.jsonl:3: invalid JSON", 1, 0},
		{"skip", InvalidSkip, "", 4, 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.jsonl")
			os.WriteFile(path, []byte(content), 0o600)
			src := newSource(t, Config{Path: path, OnInvalidLine: tc.mode, MaxLineBytes: maxLine}, nil)
			c := &collector{}
			store := checkpoint.NewMemory()
			err := run(t.Context(), src, c, store, true, time.Second)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !pipeline.IsPermanent(err) {
				t.Fatalf("err = %v, want permanent %q", err, tc.wantErr)
			}
			if n := c.count(); n != tc.wantEvents {
				t.Fatalf("%d events, want %d", n, tc.wantEvents)
			}
			if n := src.InvalidLines(); n != tc.wantSkip {
				t.Fatalf("%d invalid lines counted, want %d", n, tc.wantSkip)
			}
			if tc.mode != InvalidFail {
				return
			}
			// The checkpoint points at the bad line: fixing it in place
			// resumes there, without replaying line 1.
			fixed := strings.Replace(content, "{not json\n", "\n", 1)
			os.WriteFile(path, []byte(fixed), 0o600)
			again := &collector{}
			err = run(t.Context(), src, again, store, true, time.Second)
			if err == nil || !strings.Contains(err.Error(), "bad.jsonl:5: not a JSON object") {
				t.Fatalf("after the fix: err = %v", err)
			}
			if got := again.ids(); len(got) != 1 || got[0] == c.ids()[0] {
				t.Fatalf("after the fix: delivered %v", got)
			}
		})
	}
}

func TestTruncatedOrReplaced(t *testing.T) {
	lines, ids := export(t, 5, 40)
	cases := []struct {
		name    string
		replace func(t *testing.T, path string)
		want    []string
	}{
		{"truncated and shorter", func(t *testing.T, path string) {
			writeLines(t, path, lines[30:35], "\n")
		}, ids[30:35]},
		{"replaced by another file", func(t *testing.T, path string) {
			other := path + ".new"
			writeLines(t, other, append(slices.Clone(lines[:20]), lines[20:40]...), "\n")
			if err := os.Rename(other, path); err != nil {
				t.Fatal(err)
			}
		}, ids},
		{"rewritten in place, longer", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var b bytes.Buffer
			for _, l := range lines[10:40] {
				b.Write(l)
				b.WriteByte('\n')
			}
			f.WriteAt(b.Bytes(), 0)
		}, ids[10:40]},
		{"appended", func(t *testing.T, path string) {
			f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			defer f.Close()
			f.Write(append(bytes.Clone(lines[39]), '\n'))
		}, ids[39:40]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "export.jsonl")
			writeLines(t, path, lines[:20], "\n")
			store := checkpoint.NewMemory()
			src := newSource(t, Config{Path: path, BatchSize: 8}, nil)
			first := &collector{}
			if err := run(t.Context(), src, first, store, true, time.Second); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(first.ids(), ids[:20]) {
				t.Fatal("first run incomplete")
			}
			tc.replace(t, path)
			second := &collector{}
			if err := run(t.Context(), src, second, store, true, time.Second); err != nil {
				t.Fatal(err)
			}
			if got := second.ids(); !slices.Equal(got, tc.want) {
				t.Fatalf("second run delivered %d events %v..., want %d", len(got), head(got), len(tc.want))
			}
		})
	}
}

func head(s []string) []string { return s[:min(len(s), 3)] }

// TestFollow runs in a synctest bubble: the source's poll interval passes
// on the bubble's clock, and synctest.Wait returns once the source has
// read the file, handed on what it found and gone back to sleep, so each
// step checks exactly what was delivered by then.
func TestFollow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lines, ids := export(t, 6, 12)
		dir := t.TempDir()
		path := filepath.Join(dir, "a.jsonl")
		// Three lines and half of the fourth.
		var b bytes.Buffer
		for _, l := range lines[:3] {
			b.Write(l)
			b.WriteByte('\n')
		}
		b.Write(lines[3][:len(lines[3])/2])
		os.WriteFile(path, b.Bytes(), 0o600)

		const poll = time.Second
		src := newSource(t, Config{Path: filepath.Join(dir, "*.jsonl"), Follow: true, BatchSize: 1000, PollInterval: poll}, nil)
		c := &collector{}
		store := checkpoint.NewMemory()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- run(ctx, src, c, store, false, time.Second) }()

		synctest.Wait()
		checkIDs(t, c, "the three complete lines, not the half one", ids[:3])
		f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		var rest bytes.Buffer
		rest.Write(lines[3][len(lines[3])/2:])
		rest.WriteByte('\n')
		for _, l := range lines[4:8] {
			rest.Write(l)
			rest.WriteByte('\n')
		}
		f.Write(rest.Bytes())
		f.Close()
		settle(poll)
		checkIDs(t, c, "the completed and appended lines", ids[:8])
		writeLines(t, filepath.Join(dir, "b.jsonl"), lines[8:], "\n")
		settle(poll)
		checkIDs(t, c, "the new file", ids)
		// Nothing new: another poll delivers nothing again.
		settle(poll)
		checkIDs(t, c, "an idle poll", ids)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})

	t.Run("once does not follow", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			lines, ids := export(t, 6, 12)
			path := filepath.Join(t.TempDir(), "a.jsonl")
			writeLines(t, path, lines, "\n")
			src := newSource(t, Config{Path: path, Follow: true, PollInterval: time.Second}, nil)
			c := &collector{}
			// A source that followed would poll until this (fake) hour ran out.
			ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
			defer cancel()
			if err := run(ctx, src, c, checkpoint.NewMemory(), true, time.Second); err != nil {
				t.Fatal(err)
			}
			if ctx.Err() != nil {
				t.Fatal("a --once run followed the file until its context ended")
			}
			checkIDs(t, c, "a --once run of a followed file", ids)
		})
	})
}

func TestStdin(t *testing.T) {
	lines, ids := export(t, 7, 30)
	t.Run("replays until closed, handing on what it holds while waiting", func(t *testing.T) {
		// In a bubble, synctest.Wait returns once the source blocks on the
		// silent pipe: by then it must have handed on the lines it holds
		// rather than wait for more.
		synctest.Test(t, func(t *testing.T) {
			pr, pw := io.Pipe()
			src := newSource(t, Config{Path: Stdin, BatchSize: 1000}, pr)
			c := &collector{}
			store := checkpoint.NewMemory()
			done := make(chan error, 1)
			go func() { done <- run(t.Context(), src, c, store, false, time.Second) }()
			var b bytes.Buffer
			for _, l := range lines[:10] {
				b.Write(l)
				b.WriteByte('\n')
			}
			pw.Write(b.Bytes())
			synctest.Wait()
			checkIDs(t, c, "the first lines while stdin stays open", ids[:10])
			b.Reset()
			for _, l := range lines[10:] {
				b.Write(l)
				b.WriteByte('\n')
			}
			b.Truncate(b.Len() - 1) // the last line ends with EOF
			pw.Write(b.Bytes())
			pw.Close()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			checkIDs(t, c, "the whole of stdin, the last line without a newline", ids)
			if raw, _ := store.Load(t.Context(), "replay"); raw != nil {
				t.Fatalf("stdin saved a checkpoint: %s", raw)
			}
		})
	})
	t.Run("stops while stdin is silent", func(t *testing.T) {
		pr, pw := io.Pipe()
		defer pw.Close()
		src := newSource(t, Config{Path: Stdin}, pr)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- run(ctx, src, &collector{}, checkpoint.NewMemory(), false, time.Second) }()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Run blocked on stdin after cancel")
		}
	})
	t.Run("invalid line", func(t *testing.T) {
		src := newSource(t, Config{Path: Stdin}, strings.NewReader(string(lines[0])+"\nnope\n"))
		c := &collector{}
		err := run(t.Context(), src, c, checkpoint.NewMemory(), true, time.Second)
		if err == nil || !strings.Contains(err.Error(), "stdin:2:") {
			t.Fatalf("err = %v", err)
		}
		if c.count() != 1 {
			t.Fatalf("%d events before the invalid line, want 1", c.count())
		}
	})
}

func TestDeliveryRetried(t *testing.T) {
	lines, ids := export(t, 8, 20)
	path := filepath.Join(t.TempDir(), "export.jsonl")
	writeLines(t, path, lines, "\n")
	cases := []struct {
		name    string
		err     error
		wantErr bool
	}{
		{"retryable", errors.New("sink down"), false},
		{"permanent", pipeline.Permanent(errors.New("refused")), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			failed := false
			c := &collector{onBatch: func(i int, b pipeline.Batch) error {
				if i == 1 && !failed {
					failed = true
					return tc.err
				}
				return nil
			}}
			src := newSource(t, Config{Path: path, BatchSize: 5}, nil)
			err := run(t.Context(), src, c, checkpoint.NewMemory(), true, time.Second)
			if tc.wantErr {
				if !pipeline.IsPermanent(err) || c.count() != 5 {
					t.Fatalf("err = %v after %d events", err, c.count())
				}
				return
			}
			if err != nil || !slices.Equal(c.ids(), ids) {
				t.Fatalf("err = %v, %d events", err, c.count())
			}
		})
	}
}
