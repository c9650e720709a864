package file

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Sink appends events to a file or standard output.
type Sink struct {
	path   string
	format string
	fsync  bool
	mode   os.FileMode
	log    *slog.Logger

	mu  sync.Mutex
	f   *os.File // nil for stdout
	out io.Writer
	buf *bufio.Writer
	// unsynced is true when lines were written since the last fsync.
	unsynced bool
	// integ is the chain of integrity: sha256-chain, nil without it.
	integ *archive
	// line holds the lines of a batch while integ chains them.
	line []byte
}

var (
	_ pipeline.Sink      = (*Sink)(nil)
	_ pipeline.Committer = (*Sink)(nil)
)

// New returns a sink writing to path ("-" for standard output).
func New(path, format string, fsync bool, mode os.FileMode) *Sink {
	return &Sink{path: path, format: format, fsync: fsync, mode: mode, log: slog.New(slog.DiscardHandler)}
}

// Start opens the file for appending, creating it and its directory, and
// gives an existing file the configured mode. It never removes a byte of
// an existing file: one that does not end with a newline (a line a crash
// cut short, or something else wrote) gets one, so that the next record
// starts a line of its own, and a warning.
func (s *Sink) Start(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.path == "-" {
		s.out = os.Stdout
	} else {
		if err := os.MkdirAll(filepath.Dir(s.path), 0o750); err != nil {
			return fmt.Errorf("file sink: %w", err)
		}
		f, err := os.OpenFile(s.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, s.mode)
		if err != nil {
			return fmt.Errorf("file sink: %w", err)
		}
		if s.integ != nil {
			s.integ.log = s.log
			if err := s.integ.recover(f); err != nil {
				f.Close()
				s.integ.close()
				return fmt.Errorf("file sink %s: integrity: %w", s.path, err)
			}
		}
		if err := s.prepare(f); err != nil {
			f.Close()
			return fmt.Errorf("file sink %s: %w", s.path, err)
		}
		s.f, s.out = f, f
	}
	s.buf = bufio.NewWriterSize(s.out, 256<<10)
	return nil
}

// prepare gives the open file f the configured mode and ends its last
// line, when it has one without a newline.
func (s *Sink) prepare(f *os.File) error {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return err // a named pipe or a device is written as it is
	}
	if st.Mode().Perm() != s.mode {
		if err := f.Chmod(s.mode); err != nil {
			return fmt.Errorf("setting mode %#o: %w", s.mode, err)
		}
	}
	if st.Size() == 0 {
		return nil
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, st.Size()-1); err != nil {
		return err
	}
	if last[0] == '\n' {
		return nil
	}
	s.log.Warn("the file did not end with a newline (a line cut short by a crash, or written by something else): "+
		"it is kept and ended with one; an event it held is written again whole", "path", s.path, "size", st.Size())
	if _, err := f.Write([]byte{'\n'}); err != nil {
		return err
	}
	return f.Sync()
}

// Consume writes the batch to the file (through the operating system's
// cache: CommitWindow makes it durable). A failed write is retryable: the
// engine aborts the window and writes it again, so a torn line may precede
// the retried copy (readers skip lines that do not parse; a file sink
// guarantees at-least-once, not atomic lines).
func (s *Sink) Consume(ctx context.Context, b pipeline.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(b.Events) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buf == nil {
		return pipeline.Permanent(fmt.Errorf("file sink %s: not started", s.path))
	}
	if s.integ != nil {
		return s.consumeChained(b)
	}
	for i := range b.Events {
		ev := &b.Events[i]
		if s.format == "text" {
			s.line = appendText(s.line[:0], ev)
			s.buf.Write(s.line)
			continue
		}
		s.buf.Write(ev.Raw)
		s.buf.WriteByte('\n')
	}
	if err := s.buf.Flush(); err != nil {
		s.buf.Reset(s.out)
		return fmt.Errorf("file sink %s: %w", s.path, err)
	}
	s.unsynced = true
	return nil
}

// consumeChained writes the batch with integrity: the lines go to the
// file in one write, after their chain values went to the sidecar.
func (s *Sink) consumeChained(b pipeline.Batch) error {
	s.line = s.line[:0]
	for i := range b.Events {
		ev := &b.Events[i]
		if s.format == "text" {
			s.line = appendText(s.line, ev)
			continue
		}
		s.line = append(append(s.line, ev.Raw...), '\n')
	}
	if err := s.integ.write(s.f, s.line); err != nil {
		return fmt.Errorf("file sink %s: %w", s.path, err)
	}
	s.unsynced = true
	return nil
}

// CommitWindow fsyncs the file when fsync is on: one fsync covers every
// batch of the window (and of other sources writing to this file). With
// integrity it then signs a head over everything written (of every
// source) and syncs the sidecar, and rotates a file that reached
// rotate_bytes.
func (s *Sink) CommitWindow(_ context.Context, source string, cursor []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.fsync || s.f == nil || !s.unsynced {
		return nil
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("file sink %s: fsync: %w", s.path, err)
	}
	s.unsynced = false
	if s.integ != nil {
		f, err := s.integ.commit(s.f, source, cursor)
		if f != s.f {
			s.f, s.out = f, f
			if f != nil {
				s.buf.Reset(f)
			}
		}
		if err != nil {
			return fmt.Errorf("file sink %s: %w", s.path, err)
		}
	}
	return nil
}

// AbortWindow does nothing: lines written stay, and the window is written
// again (at-least-once).
func (s *Sink) AbortWindow(context.Context, string) error { return nil }

// appendText appends the readable line of ev to dst.
func appendText(dst []byte, ev *pipeline.Event) []byte {
	actor := ev.ActorEmail
	if actor == "" {
		actor = ev.ActorID
	}
	if actor == "" {
		actor = "-"
	}
	project := ev.ProjectID
	if project == "" {
		project = "-"
	}
	return fmt.Appendf(dst, "%s  %-10s %-34s %-28s %-22s %s\n", ev.Time.UTC().Format(time.RFC3339), ev.Source, ev.Type, actor, project, ev.ID)
}

// Shutdown flushes and closes the file. Safe without Start and twice.
func (s *Sink) Shutdown(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.buf != nil {
		err = s.buf.Flush()
		s.buf = nil
	}
	if s.f != nil {
		if e := s.f.Sync(); e != nil && err == nil {
			err = e
		}
		if e := s.f.Close(); e != nil && err == nil {
			err = e
		}
		s.f = nil
	}
	if s.integ != nil {
		if e := s.integ.close(); e != nil && err == nil {
			err = e
		}
	}
	return err
}
