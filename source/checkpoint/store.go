package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"

	"github.com/auditrelay/auditrelay/pipeline"
)

// File keeps each source's cursor in DIR/<escaped source name>.json.
type File struct {
	dir string
	mu  sync.Mutex // serialises the temp-file dance per store
}

var _ pipeline.CursorStore = (*File)(nil)

// NewFile returns a store writing under dir. Nothing is touched before Start.
func NewFile(dir string) *File { return &File{dir: dir} }

// Dir returns the directory the store writes to.
func (f *File) Dir() string { return f.dir }

// Start creates the directory and checks it is writable.
func (f *File) Start(context.Context) error {
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return fmt.Errorf("checkpoint dir: %w", err)
	}
	probe, err := os.CreateTemp(f.dir, ".probe-*")
	if err != nil {
		return fmt.Errorf("checkpoint dir %s is not writable: %w", f.dir, err)
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// Shutdown implements pipeline.Component; the store holds nothing open.
func (f *File) Shutdown(context.Context) error { return nil }

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
