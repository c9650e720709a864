package chatgpt

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/auditrelay/auditrelay/pipeline"
)

// spool is the temporary file one download is written to, checked, and
// then read back line by line: a file's SHA-256 is known only once its
// last byte arrived, and no record of a file may leave the source before
// the file is known whole and right. Memory stays flat whatever the
// file's size; the disk holds one file at a time, also across crashes.
type spool struct {
	f        *os.File
	maxBytes int64 // max_file_bytes
	maxLine  int   // max_line_bytes
	size     int64 // bytes of the last fill
	unlinked bool  // the file has no name left: closing it frees it
}

// newSpool creates a spool file in dir ("" for the system's temporary
// directory) and removes its name at once where the system allows that of
// an open file: the file stays usable through f, and the system frees it
// when f is closed, also by a process that is killed. Otherwise each kill
// or crash would leave a file of up to max_file_bytes behind, one per
// restart. Where the name cannot be removed while open, Close removes it.
// dir is created (0700, its parents too) when it does not exist, as the
// checkpoint directory is: it holds what people wrote while a file is
// read, so only the process's user may list or read it.
func newSpool(dir string, maxBytes int64, maxLine int) (*spool, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, pipeline.Permanent(fmt.Errorf("spool_dir: %w", err))
		}
	}
	f, err := os.CreateTemp(dir, "auditrelay-chatgpt-*.jsonl")
	if err != nil {
		return nil, pipeline.Permanent(fmt.Errorf("spool_dir: %w", err))
	}
	return &spool{f: f, maxBytes: maxBytes, maxLine: maxLine, unlinked: os.Remove(f.Name()) == nil}, nil
}

// Close closes the spool file, which removes it.
func (s *spool) Close() error {
	err := s.f.Close()
	if s.unlinked {
		return err
	}
	if rerr := os.Remove(s.f.Name()); err == nil {
		err = rerr
	}
	return err
}

// fill writes body to the spool, replacing what it held, and checks it
// against what the listing said of file f: its size and digest when
// given. A body that falls short, runs over, does not match, or (when the
// listing gives neither) ends inside a line is an error that the client
// retries with a fresh download.
func (s *spool) fill(body io.Reader, f File) error {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return pipeline.Permanent(fmt.Errorf("spool: %w", err))
	}
	if err := s.f.Truncate(0); err != nil {
		return pipeline.Permanent(fmt.Errorf("spool: %w", err))
	}
	limit := s.maxBytes
	if f.Size >= 0 {
		limit = f.Size
	}
	h := sha256.New()
	w := bufio.NewWriterSize(s.f, 64<<10)
	tail := &tailWriter{lastNL: -1}
	n, err := io.Copy(io.MultiWriter(w, h, tail), io.LimitReader(body, limit+1))
	s.size = n
	if err != nil {
		return fmt.Errorf("file %s: reading the download after %d bytes: %w", f.ID, n, err)
	}
	if err := w.Flush(); err != nil {
		return pipeline.Permanent(fmt.Errorf("spool: writing file %s: %w", f.ID, err))
	}
	switch {
	case f.Size < 0 && n > s.maxBytes:
		return pipeline.Permanent(fmt.Errorf("file %s is larger than max_file_bytes (%d)", f.ID, s.maxBytes))
	case f.Size >= 0 && n > f.Size:
		return fmt.Errorf("file %s: more than the %d bytes the listing says arrived: the download ran over", f.ID, f.Size)
	case f.Size >= 0 && n < f.Size:
		return fmt.Errorf("file %s: %d bytes arrived, the listing says %d: the download was cut short", f.ID, n, f.Size)
	case f.SHA256 != "":
		if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
			return fmt.Errorf("file %s: the SHA-256 of the download, %s, is not the listing's %s", f.ID, got, f.SHA256)
		}
		return nil
	}
	return s.checkEnd(f, tail)
}

// checkEnd refuses, for a file whose listing gives no digest, a download
// that ends inside a line: what follows the last newline must be a whole
// JSON value (a file whose last line has no newline), else the body was
// cut short. A cut that falls exactly on a line's end cannot be told from
// a whole file without file_size or file_sha256.
func (s *spool) checkEnd(f File, tail *tailWriter) error {
	rest := s.size - tail.lastNL - 1
	if rest == 0 || rest > int64(s.maxLine) {
		return nil // a line too long is reported when it is read
	}
	buf := make([]byte, rest)
	if _, err := s.f.ReadAt(buf, tail.lastNL+1); err != nil {
		return pipeline.Permanent(fmt.Errorf("spool: %w", err))
	}
	if t := bytes.TrimSpace(buf); len(t) > 0 && !json.Valid(t) {
		return fmt.Errorf("file %s ends inside a line: the download was cut short", f.ID)
	}
	return nil
}

// tailWriter tracks the offset of the last newline written through it
// (-1 for none).
type tailWriter struct {
	n      int64
	lastNL int64
}

func (t *tailWriter) Write(p []byte) (int, error) {
	if i := bytes.LastIndexByte(p, '\n'); i >= 0 {
		t.lastNL = t.n + int64(i)
	}
	t.n += int64(len(p))
	return len(p), nil
}

// lines returns a reader of the spool's lines from its start.
func (s *spool) lines() (*lineReader, error) {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, pipeline.Permanent(fmt.Errorf("spool: %w", err))
	}
	return newLineReader(io.LimitReader(s.f, s.size), s.maxLine), nil
}

// errLineTooLong is the error of a line over max_line_bytes.
var errLineTooLong = errors.New("line longer than max_line_bytes")

// lineReader splits a file into lines of at most max bytes.
type lineReader struct {
	br   *bufio.Reader
	max  int
	long []byte // a line longer than the reader's buffer, put together
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10), max: max}
}

// next returns the next line without its "\n", valid until the next
// call; io.EOF after the last line (a last line without a newline counts).
// A line of more than max bytes is errLineTooLong, found before more than
// max bytes of it are held.
func (lr *lineReader) next() ([]byte, error) {
	lr.long = lr.long[:0]
	for {
		frag, err := lr.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if len(lr.long)+len(frag) > lr.max {
				return nil, errLineTooLong
			}
			lr.long = append(lr.long, frag...)
			continue
		}
		if err != nil && (err != io.EOF || len(frag)+len(lr.long) == 0) {
			return nil, err // io.EOF after the last line, or a read error
		}
		line := frag
		if err == nil {
			line = frag[:len(frag)-1]
		}
		if len(lr.long) > 0 {
			lr.long = append(lr.long, line...)
			line = lr.long
		}
		if len(line) > lr.max {
			return nil, errLineTooLong
		}
		return line, nil
	}
}

// nextOf is next for line n+1 of file f: an error other than io.EOF names
// the file and the line.
func (lr *lineReader) nextOf(f File, n int64) ([]byte, error) {
	line, err := lr.next()
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("file %s (%s) line %d: %w (%d bytes)", f.ID, f.Type, n+1, err, lr.max)
	}
	return line, err
}
