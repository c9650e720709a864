package file

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// loggedInvalid is how many invalid lines a Run logs one by one; later
// ones are counted and summed up per file.
const loggedInvalid = 10

var utf8BOM = []byte("\xef\xbb\xbf")

// Source is the "file" source.
type Source struct {
	name    string
	cfg     Config
	log     *slog.Logger
	stdin   io.Reader
	now     func() time.Time
	invalid atomic.Int64
}

var (
	_ pipeline.Source     = (*Source)(nil)
	_ pipeline.BatchSizer = (*Source)(nil)
)

// New returns a source for cfg (already validated; Path already resolved
// against the config directory). stdin is read when Path is "-".
func New(set pipeline.Settings, cfg Config, stdin io.Reader) *Source {
	return &Source{name: set.Name, cfg: cfg, log: set.Log(), stdin: stdin, now: time.Now}
}

// BatchSize implements pipeline.BatchSizer: a window of the file source is
// one batch.
func (s *Source) BatchSize() int { return s.cfg.BatchSize }

// Start implements pipeline.Component. The source opens files in Run.
func (s *Source) Start(context.Context) error { return nil }

// Shutdown implements pipeline.Component; Run holds every file it opens.
func (s *Source) Shutdown(context.Context) error { return nil }

// InvalidLines returns the number of lines skipped (on_invalid_line: skip)
// since the source was created. Safe for concurrent use.
func (s *Source) InvalidLines() int64 { return s.invalid.Load() }

// Run implements pipeline.Source. It reads every matching file from its
// checkpointed offset to its end, in lexical order of the paths, emitting a
// window every batch_size lines whose cursor holds each file's offset after
// it. It returns nil at the end of the files (without follow, or with
// host.Once), or when ctx is done (the lines read and not yet emitted are
// read again at the next start). An invalid line with on_invalid_line: fail
// is a permanent error naming the file and line.
func (s *Source) Run(ctx context.Context, host pipeline.SourceHost) error {
	if s.cfg.Path == Stdin {
		return s.runStdin(ctx, host)
	}
	cp := newCursor()
	if raw := host.Cursor; raw != nil {
		var err error
		if cp, err = decodeCursor(raw); err != nil {
			return pipeline.Permanent(fmt.Errorf("checkpoint of %q is unreadable (%v); move it away to replay from the start", s.name, err))
		}
		s.log.Info("resuming from checkpoint", "files", len(cp.Files))
	}
	follow := s.cfg.Follow && !host.Once
	waiting := false
	for {
		paths, err := s.match()
		if err != nil {
			return pipeline.Permanent(err)
		}
		if len(paths) == 0 {
			if !follow {
				return pipeline.Permanent(fmt.Errorf("path %q matches no file", s.cfg.Path))
			}
			if !waiting {
				s.log.Warn("path matches no file yet; waiting for one", "path", s.cfg.Path)
				waiting = true
			}
		}
		cp.prune(paths)
		for _, p := range paths {
			stop, err := s.replayFile(ctx, host, cp, p, follow)
			if err != nil {
				return err
			}
			if stop || ctx.Err() != nil {
				return nil
			}
		}
		if !follow {
			return nil
		}
		if pipeline.Sleep(ctx, s.cfg.PollInterval) != nil {
			return nil
		}
	}
}

// match returns the regular files Path names, in lexical order.
func (s *Source) match() ([]string, error) {
	paths, err := filepath.Glob(s.cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("path %q: %w", s.cfg.Path, err)
	}
	out := paths[:0]
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			out = append(out, p)
		}
	}
	return out, nil
}

// replayFile reads path from its saved position to its end. stop reports
// that ctx ended the replay.
func (s *Source) replayFile(ctx context.Context, host pipeline.SourceHost, cp *cursor, path string, follow bool) (stop bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // removed since the glob matched
	}
	if err != nil {
		return false, fmt.Errorf("opening %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", path, err)
	}
	size, inode := fi.Size(), inodeOf(fi)
	pos, known := cp.Files[path]
	if known && pos.Offset > 0 {
		why, err := replaced(f, pos, size, inode)
		if err != nil {
			return false, fmt.Errorf("reading %s: %w", path, err)
		}
		if why != "" {
			s.log.Warn(why+"; replaying it from the start", "file", path, "offset", pos.Offset, "size", size)
			pos = position{}
		}
	}
	// A file read from the start is fingerprinted by its first
	// acknowledged bytes (at most headBytes): a line fixed in place after
	// the saved offset does not make the file look replaced.
	var head []byte
	if pos.Offset == 0 {
		head = make([]byte, min(size, headBytes))
		if _, err := f.ReadAt(head, 0); err != nil {
			return false, fmt.Errorf("reading %s: %w", path, err)
		}
	}
	pos.Size, pos.MTime, pos.Inode = size, fi.ModTime().UnixNano(), inode
	if known && pos.Offset == size {
		return false, nil
	}
	if _, err := f.Seek(pos.Offset, io.SeekStart); err != nil {
		return false, fmt.Errorf("seeking %s: %w", path, err)
	}
	if pos.Offset == 0 {
		s.log.Info("replaying file", "file", path, "size", size)
	}
	st := &stream{
		name: path, lr: newLineReader(f, s.cfg.MaxLineBytes), pos: pos, holdPartial: follow,
		cursor: func(p position) ([]byte, error) {
			if head != nil {
				p.HeadLen = min(p.Offset, int64(len(head)))
				p.Head = crc32.ChecksumIEEE(head[:p.HeadLen])
			}
			cp.Files[path] = p
			b, err := json.Marshal(cp)
			if err != nil {
				return nil, pipeline.Permanent(err)
			}
			return b, nil
		},
	}
	return s.replay(ctx, host, st)
}

// runStdin replays stdin until it is closed or ctx is done. There is no
// checkpoint: lines read and not yet emitted when ctx ends are lost.
func (s *Source) runStdin(ctx context.Context, host pipeline.SourceHost) error {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the reading goroutine once its Read returns
	ar := newAsyncReader(s.stdin, rctx.Done())
	lr := newLineReader(ar, s.cfg.MaxLineBytes)
	st := &stream{name: "stdin", lr: lr, idle: func() bool {
		if ar.ready() {
			return false
		}
		b, _ := lr.br.Peek(lr.buffered())
		return bytes.IndexByte(b, '\n') < 0
	}}
	_, err := s.replay(ctx, host, st)
	return err
}

// stream is one input being replayed.
type stream struct {
	name        string
	lr          *lineReader
	pos         position // after the last line read
	holdPartial bool     // keep a last line without newline for later
	// idle reports that the next read would wait for the stream; the
	// events held are then delivered first. nil for files.
	idle func() bool
	// cursor returns the source's cursor once everything up to a position
	// is delivered; nil for stdin.
	cursor func(position) ([]byte, error)

	events    []pipeline.Event
	arena     []byte // the held events' Raw bytes
	arenaHint int    // the size of the last batch's arena
	invalid   int64
}

// replay reads st to its end, delivering a batch whenever it is full (or
// the stream idles) and the rest at the end. stop reports that ctx ended it.
func (s *Source) replay(ctx context.Context, host pipeline.SourceHost, st *stream) (stop bool, err error) {
	acked := st.pos
	flush := func() (bool, error) {
		if st.pos == acked && len(st.events) == 0 {
			return true, nil
		}
		ok, err := s.deliver(ctx, host, st)
		if ok {
			acked = st.pos
		}
		return ok, err
	}
	lines, events := int64(0), int64(0)
	defer func() {
		if lines > 0 {
			s.log.Info("replayed", "file", st.name, "lines", lines, "events", events, "invalid_lines_skipped", st.invalid,
				"offset", st.pos.Offset)
		}
	}()
	for {
		if ctx.Err() != nil {
			_, err := flush()
			return true, err
		}
		if st.idle != nil && len(st.events) > 0 && st.idle() {
			if ok, err := flush(); !ok || err != nil {
				return true, err
			}
		}
		line, n, complete, tooLong, rerr := st.lr.next()
		if rerr != nil && rerr != io.EOF {
			if ctx.Err() != nil || errors.Is(rerr, errStopped) {
				_, err := flush()
				return true, err
			}
			return false, fmt.Errorf("reading %s: %w", st.name, rerr)
		}
		if !complete && (n == 0 || st.holdPartial) {
			ok, err := flush()
			return !ok, err
		}
		if st.pos.Line == 0 {
			line = bytes.TrimPrefix(line, utf8BOM)
		}
		lineNo := st.pos.Line + 1
		var perr error
		if tooLong {
			perr = fmt.Errorf("line longer than max_line_bytes (%d)", s.cfg.MaxLineBytes)
		} else {
			if st.arena == nil {
				st.arena = make([]byte, 0, st.arenaHint)
			}
			at := len(st.arena)
			st.arena = append(st.arena, line...)
			var ev pipeline.Event
			ev, perr = parseLine(st.arena[at:len(st.arena):len(st.arena)], s.name, s.now().UTC())
			if perr == nil {
				st.events = append(st.events, ev)
				events++
			} else {
				st.arena = st.arena[:at]
			}
		}
		switch {
		case perr == nil, errors.Is(perr, errBlank):
		case s.cfg.OnInvalidLine == InvalidSkip:
			st.invalid++
			if n := s.invalid.Add(1); n <= loggedInvalid {
				s.log.Warn("skipping invalid line", "file", st.name, "line", lineNo, "err", perr)
				if n == loggedInvalid {
					s.log.Warn("further invalid lines are counted, not logged one by one")
				}
			}
		default:
			// Deliver what precedes the line, so that the checkpoint
			// points at it: a fixed file resumes there.
			if ok, err := flush(); !ok || err != nil {
				return true, err
			}
			return false, pipeline.Permanent(fmt.Errorf("%s:%d: %w (on_invalid_line is fail: fix or remove the line, or set on_invalid_line: skip)",
				st.name, lineNo, perr))
		}
		st.pos.Offset += n
		st.pos.Line = lineNo
		lines++
		if len(st.events) >= s.cfg.BatchSize {
			if ok, err := flush(); !ok || err != nil {
				return true, err
			}
		}
		if !complete {
			ok, err := flush()
			return !ok, err
		}
	}
}

// deliver hands st's held events to the engine as one window whose
// cursor holds st.pos. ok is false when ctx ended it (the events are read
// again after a restart).
func (s *Source) deliver(ctx context.Context, host pipeline.SourceHost, st *stream) (ok bool, err error) {
	w := pipeline.Window{Events: st.events}
	if st.cursor != nil {
		if w.Cursor, err = st.cursor(st.pos); err != nil {
			return false, err
		}
	}
	if err := host.Emit(ctx, w); err != nil {
		return false, nil
	}
	st.arenaHint = max(st.arenaHint, len(st.arena))
	st.events, st.arena = nil, nil // the engine's now
	return true, nil
}
