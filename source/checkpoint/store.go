package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/auditrelay/auditrelay/pipeline"
)

// File keeps each source's cursor in DIR/<escaped source name>.json. A
// running store holds an exclusive lock on DIR/lock (which names its
// process): two processes on one directory would each deliver everything.
type File struct {
	dir  string
	mu   sync.Mutex // serialises the temp-file dance per store
	lock *os.File   // held from Start to Shutdown
}

var _ pipeline.CursorStore = (*File)(nil)

// NewFile returns a store writing under dir. Nothing is touched before Start.
func NewFile(dir string) *File { return &File{dir: dir} }

// Dir returns the directory the store writes to.
func (f *File) Dir() string { return f.dir }

// Start creates the directory, checks it is writable and takes its lock.
// A directory another process holds is a pipeline.Setup error naming it
// and the holder's pid.
func (f *File) Start(context.Context) error {
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return fmt.Errorf("checkpoint dir: %w", err)
	}
	probe, err := os.CreateTemp(f.dir, ".probe-*")
	if err != nil {
		return fmt.Errorf("checkpoint dir %s is not writable: %w", f.dir, err)
	}
	probe.Close()
	if err := os.Remove(probe.Name()); err != nil {
		return err
	}
	return f.takeLock()
}

// takeLock locks DIR/lock for this process and writes its pid there. The
// lock goes with the process (a crash releases it); the file stays.
func (f *File) takeLock() error {
	if f.lock != nil {
		return nil // started twice: the lock is this store's already
	}
	l, err := os.OpenFile(filepath.Join(f.dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("checkpoint dir %s: %w", f.dir, err)
	}
	if err := syscall.Flock(int(l.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := io.ReadAll(io.LimitReader(l, 32))
		l.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return pipeline.Setup(fmt.Errorf("checkpoint dir %s is in use by another auditrelay (pid %s): one state directory per process",
				f.dir, strings.TrimSpace(string(holder))))
		}
		return fmt.Errorf("checkpoint dir %s: locking: %w", f.dir, err)
	}
	// The pid serves only the message of a process that finds the lock
	// taken: failing to write it is no reason to stop.
	_ = l.Truncate(0)
	_, _ = l.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	f.lock = l
	return nil
}

// Shutdown releases the directory's lock. Safe without Start and twice.
func (f *File) Shutdown(context.Context) error {
	if f.lock == nil {
		return nil
	}
	err := f.lock.Close() // closing the file releases the lock
	f.lock = nil
	return err
}

func (f *File) path(source string) string {
	return filepath.Join(f.dir, url.PathEscape(source)+".json")
}

// Load implements pipeline.CursorStore.
func (f *File) Load(_ context.Context, source string) ([]byte, error) {
	b, err := os.ReadFile(f.path(source))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading checkpoint of %q: %w", source, err)
	}
	return b, nil
}

// Save writes cursor to a temporary file, fsyncs it, renames it over the
// old one and fsyncs the directory, so that after a crash the file holds
// either the previous or the new cursor.
func (f *File) Save(_ context.Context, source string, cursor []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	tmp, err := os.CreateTemp(f.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("saving checkpoint of %q: %w", source, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(cursor); err != nil {
		tmp.Close()
		return fmt.Errorf("saving checkpoint of %q: %w", source, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("saving checkpoint of %q: fsync: %w", source, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving checkpoint of %q: %w", source, err)
	}
	if err := os.Rename(tmp.Name(), f.path(source)); err != nil {
		return fmt.Errorf("saving checkpoint of %q: %w", source, err)
	}
	d, err := os.Open(f.dir)
	if err != nil {
		return fmt.Errorf("saving checkpoint of %q: %w", source, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("saving checkpoint of %q: fsync dir: %w", source, err)
	}
	return nil
}

// Memory keeps cursors in memory. Safe for concurrent use.
type Memory struct {
	mu sync.Mutex
	m  map[string][]byte
}

var _ pipeline.CursorStore = (*Memory)(nil)

// NewMemory returns an empty memory store.
func NewMemory() *Memory { return &Memory{m: map[string][]byte{}} }

// Start implements pipeline.Component.
func (*Memory) Start(context.Context) error { return nil }

// Shutdown implements pipeline.Component.
func (*Memory) Shutdown(context.Context) error { return nil }

// Load implements pipeline.CursorStore.
func (m *Memory) Load(_ context.Context, source string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b, ok := m.m[source]; ok {
		return append([]byte(nil), b...), nil
	}
	return nil, nil
}

// Save implements pipeline.CursorStore.
func (m *Memory) Save(_ context.Context, source string, cursor []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[source] = append([]byte(nil), cursor...)
	return nil
}
