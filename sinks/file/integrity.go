package file

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/auditrelay/auditrelay/sinks/file/chain"
)

// archive is the sink's state of integrity: sha256-chain. The sink holds
// its lock around every method.
type archive struct {
	key         ed25519.PrivateKey
	rotateBytes int64
	path        string
	mode        os.FileMode
	log         *slog.Logger

	side *os.File
	// Where the chain stands in the active part: its part number, the
	// last head's sequence number, the lines and bytes written, the value
	// before its first line and after its last, the lines the last head
	// covers, the sidecar's size.
	part, seq       int64
	lines, bytes    int64
	start, c        chain.Value
	headLines       int64
	sideBytes       int64
	pending, values []byte
	// broken is set when the files could not be put back after a failed
	// write: nothing more is written until the next start repairs them.
	broken error
}

func newArchive(path string, key ed25519.PrivateKey, rotateBytes int64, mode os.FileMode, log *slog.Logger) *archive {
	return &archive{key: key, rotateBytes: rotateBytes, path: path, mode: mode, log: log}
}

func (a *archive) sidePath() string { return a.path + chain.SidecarSuffix }

// recover finds where the chain stands before the open data file f is
// written: after the last signed head of the active part, or where the
// last rotated part ended. What follows that head in the file and its
// sidecar belongs to a window that was written but never committed (a
// kill, a failed commit): it is removed, and the engine writes that
// window again, so that the chain holds only what its heads sign.
func (a *archive) recover(f *os.File) error {
	pub := a.key.Public().(ed25519.PublicKey)
	parts, paths, err := chain.RotatedParts(a.path)
	if err != nil {
		return err
	}
	// A rotation renames the file, then its sidecar: a kill between the
	// two leaves the sidecar under the active name.
	if n := len(parts); n > 0 {
		rotSide := paths[n-1] + chain.SidecarSuffix
		if _, err := os.Stat(rotSide); errors.Is(err, os.ErrNotExist) {
			if err := os.Rename(a.sidePath(), rotSide); err != nil {
				return fmt.Errorf("finishing the rotation of part %d: %w", parts[n-1], err)
			}
		}
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	// The chain goes on from the last rotated part, or starts.
	a.part, a.seq, a.start = 1, 0, chain.Value{}
	if n := len(parts); n > 0 {
		h, _, ok, err := chain.LastHead(paths[n-1]+chain.SidecarSuffix, pub)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("the rotated part %s has no signed head", paths[n-1])
		}
		if a.start, err = chain.ParseValue([]byte(h.Chain)); err != nil {
			return fmt.Errorf("the last head of %s: %w", paths[n-1], err)
		}
		a.part, a.seq = h.Part+1, h.Seq
	}
	a.c, a.lines, a.bytes, a.headLines, a.sideBytes = a.start, 0, 0, 0, 0

	h, end, ok, err := chain.LastHead(a.sidePath(), pub)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if st.Size() > 0 {
			return errors.New("integrity is on but the file has lines no chain covers (written without integrity): point path at a new file")
		}
	case err != nil:
		return err
	case ok:
		if h.Part != a.part {
			return fmt.Errorf("the last head is of part %d, but the rotated parts end at %d", h.Part, a.part-1)
		}
		if st.Size() < h.Bytes {
			return fmt.Errorf("the file has %d bytes, fewer than the %d its last signed head covers: something truncated it (auditrelay verify shows where)", st.Size(), h.Bytes)
		}
		if a.c, err = chain.ParseValue([]byte(h.Chain)); err != nil {
			return err
		}
		if a.start, err = chain.ParseValue([]byte(h.Start)); err != nil {
			return err
		}
		a.seq, a.lines, a.bytes, a.headLines, a.sideBytes = h.Seq, h.Lines, h.Bytes, h.Lines, end
	}
	side, err := os.OpenFile(a.sidePath(), os.O_RDWR|os.O_APPEND|os.O_CREATE, a.mode)
	if err != nil {
		return err
	}
	a.side = side
	sst, err := side.Stat()
	if err != nil {
		return err
	}
	// A kill leaves at most values without their lines (the values are
	// written first). More whole lines than values after the head is not
	// a kill: heads were cut from the sidecar, or lines added to the file,
	// and cutting the file back would remove lines a cursor moved past.
	lines, err := countLines(f, a.bytes, st.Size())
	if err != nil {
		return err
	}
	values, err := countLines(side, a.sideBytes, sst.Size())
	if err != nil {
		return err
	}
	if lines > values {
		return fmt.Errorf("the file has %d lines after its last signed head but the sidecar only %d chain values: "+
			"it was changed after auditrelay wrote it (auditrelay verify shows where); point path at a new file", lines, values)
	}
	if cut := st.Size() - a.bytes; cut > 0 || sst.Size() > a.sideBytes {
		a.log.Warn("removed what followed the last signed head: a window written but not committed, which is written again",
			"path", a.path, "bytes", cut, "part", a.part, "head", a.seq)
	}
	if err := a.truncate(f); err != nil {
		return err
	}
	return syncDir(filepath.Dir(a.path))
}

// countLines counts the newlines of f in [from, to).
func countLines(f *os.File, from, to int64) (int64, error) {
	buf := make([]byte, 64<<10)
	var n int64
	for from < to {
		k, err := f.ReadAt(buf[:min(int64(len(buf)), to-from)], from)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		from += int64(k)
		if err != nil && from < to {
			return n, err
		}
	}
	return n, nil
}

// truncate cuts the data file f and the sidecar back to the chain's state.
func (a *archive) truncate(f *os.File) error {
	if err := f.Truncate(a.bytes); err != nil {
		return err
	}
	if err := a.side.Truncate(a.sideBytes); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return a.side.Sync()
}

// write appends the lines in p (each ending with a newline) to f and their
// chain values to the sidecar: the values first, so that a kill between
// the two leaves values without lines (an uncommitted tail), never lines
// without values (which verify reports as added by hand). A failed write
// is undone so that the chain and the files agree.
func (a *archive) write(f *os.File, p []byte) error {
	if a.broken != nil {
		return a.broken
	}
	lines, size, c := a.lines, a.bytes, a.c
	a.values = a.values[:0]
	for rest := p; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		c = chain.Next(c, rest[:i])
		a.values = append(c.AppendHex(a.values), '\n')
		lines, size, rest = lines+1, size+int64(i+1), rest[i+1:]
	}
	if _, err := a.side.Write(a.values); err != nil {
		return a.undo(f, err)
	}
	a.sideBytes += int64(len(a.values))
	if _, err := f.Write(p); err != nil {
		a.sideBytes -= int64(len(a.values))
		return a.undo(f, err)
	}
	a.lines, a.bytes, a.c = lines, size, c
	return nil
}

func (a *archive) undo(f *os.File, err error) error {
	if terr := a.truncate(f); terr != nil {
		a.broken = fmt.Errorf("%w; putting the file back after it failed too (%v): the next start repairs it", err, terr)
		return a.broken
	}
	return err
}

// commit signs a head over everything written, when anything was written
// since the last one, after the data file f was synced. It returns the
// file to write to next: a new one when the file reached rotate_bytes.
func (a *archive) commit(f *os.File, source string, cursor []byte) (*os.File, error) {
	if a.broken != nil {
		return f, a.broken
	}
	if a.lines == a.headLines {
		return f, nil
	}
	h := chain.Head{Archive: filepath.Base(a.path), Part: a.part, Seq: a.seq + 1, Lines: a.lines, Bytes: a.bytes,
		Start: a.start.String(), Chain: a.c.String(), Source: source, Cursor: chain.CursorID(cursor), Time: time.Now().UTC()}
	line, err := h.Sign(a.key)
	if err != nil {
		return f, err
	}
	line = append(line, '\n')
	if _, err := a.side.Write(line); err != nil {
		return f, a.undo(f, err)
	}
	if err := a.side.Sync(); err != nil {
		// The head may or may not be on disk: the next start finds out.
		a.broken = fmt.Errorf("fsync of the chain sidecar: %w", err)
		return f, a.broken
	}
	a.seq, a.headLines, a.sideBytes = h.Seq, a.lines, a.sideBytes+int64(len(line))
	if a.rotateBytes > 0 && a.bytes >= a.rotateBytes {
		nf, err := a.rotate(f)
		if err != nil {
			a.broken = fmt.Errorf("rotating part %d: %w", a.part, err)
			return nf, a.broken
		}
		return nf, nil
	}
	return f, nil
}

// rotate renames the full file and its sidecar to the part's name and
// opens a new part that chains on from the last value.
func (a *archive) rotate(f *os.File) (*os.File, error) {
	rot := chain.PartPath(a.path, a.part)
	if err := f.Close(); err != nil {
		return nil, err
	}
	if err := a.side.Close(); err != nil {
		return nil, err
	}
	a.side = nil
	if err := os.Rename(a.path, rot); err != nil {
		return nil, err
	}
	if err := os.Rename(a.sidePath(), rot+chain.SidecarSuffix); err != nil {
		return nil, err
	}
	nf, err := os.OpenFile(a.path, os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_EXCL, a.mode)
	if err != nil {
		return nil, err
	}
	side, err := os.OpenFile(a.sidePath(), os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_EXCL, a.mode)
	if err != nil {
		nf.Close()
		return nil, err
	}
	if err := syncDir(filepath.Dir(a.path)); err != nil {
		nf.Close()
		side.Close()
		return nil, err
	}
	a.log.Info("rotated the archive", "path", a.path, "part", a.part, "to", rot, "lines", a.lines)
	a.side = side
	a.part, a.start, a.lines, a.bytes, a.headLines, a.sideBytes = a.part+1, a.c, 0, 0, 0, 0
	return nf, nil
}

func (a *archive) close() error {
	if a.side == nil {
		return nil
	}
	err := a.side.Close()
	a.side = nil
	return err
}

// syncDir makes a created or renamed name in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
