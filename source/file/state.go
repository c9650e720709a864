package file

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// headBytes is how much of a file's beginning the checkpoint fingerprints
// to notice a file replaced in place (same inode, same or larger size).
const headBytes = 1024

// position is where the replay of one file stands: everything before Offset
// was acknowledged.
type position struct {
	// Offset is the byte offset after the last acknowledged line; Line is
	// that line's number (1-based), so messages name lines correctly after
	// a resume.
	Offset int64 `json:"offset"`
	Line   int64 `json:"line"`
	// Size and MTime are the file's size and modification time (unix
	// nanoseconds) when the position was saved; Inode its inode (0 where
	// the platform has none).
	Size  int64  `json:"size"`
	MTime int64  `json:"mtime_ns"`
	Inode uint64 `json:"inode,omitempty"`
	// Head is the CRC-32 (IEEE) of the file's first HeadLen bytes.
	Head    uint32 `json:"head_crc"`
	HeadLen int64  `json:"head_len"`
}

// cursor is the checkpoint of a file source: one position per file
// path (after resolution against the config directory).
type cursor struct {
	V     int                 `json:"v"`
	Files map[string]position `json:"files"`
}

func newCursor() *cursor { return &cursor{V: 1, Files: map[string]position{}} }

func decodeCursor(raw []byte) (*cursor, error) {
	cp := newCursor()
	if err := json.Unmarshal(raw, cp); err != nil {
		return nil, err
	}
	if cp.V != 1 {
		return nil, fmt.Errorf("unknown version %d", cp.V)
	}
	if cp.Files == nil {
		cp.Files = map[string]position{}
	}
	return cp, nil
}

// prune forgets the files that no longer match, so that the checkpoint of
// a glob over rotated exports stays small.
func (cp *cursor) prune(paths []string) {
	keep := make(map[string]bool, len(paths))
	for _, p := range paths {
		keep[p] = true
	}
	for p := range cp.Files {
		if !keep[p] {
			delete(cp.Files, p)
		}
	}
}

// headCRC returns the CRC-32 of the first n bytes of f, and false when f
// is shorter.
func headCRC(f *os.File, n int64) (uint32, bool, error) {
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, 0); err != nil {
		if err == io.EOF {
			return 0, false, nil
		}
		return 0, false, err
	}
	return crc32.ChecksumIEEE(buf), true, nil
}

// replaced says why a file no longer continues the saved position, or ""
// when reading may resume at pos.Offset.
func replaced(f *os.File, pos position, size int64, inode uint64) (string, error) {
	switch {
	case pos.Inode != 0 && inode != 0 && pos.Inode != inode:
		return "the file was replaced (other inode)", nil
	case size < pos.Offset:
		return "the file was truncated (smaller than the saved offset)", nil
	}
	if pos.HeadLen > 0 {
		crc, ok, err := headCRC(f, pos.HeadLen)
		if err != nil {
			return "", err
		}
		if !ok || crc != pos.Head {
			return "the file was rewritten (its first bytes changed)", nil
		}
	}
	return "", nil
}
