package file

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/schema/openai"
)

var errBlank = errors.New("blank line")

// parseLine indexes one JSONL line (without its line terminator; white
// space around the object is ignored): an audit log or a request log, as
// openai.Parse tells them apart. The event's Raw is line trimmed of white
// space, sharing line's memory. It returns errBlank for a blank line.
func parseLine(line []byte, source string, observed time.Time) (pipeline.Event, error) {
	raw := bytes.TrimSpace(line)
	if len(raw) == 0 {
		return pipeline.Event{}, errBlank
	}
	ev, err := openai.Parse(raw, source, observed)
	// openai.Parse validates the line; only a refused line is read again,
	// for encoding/json's account of what is wrong with it.
	if err != nil && !json.Valid(raw) {
		return pipeline.Event{}, invalidJSON(raw)
	}
	return ev, err
}

// invalidJSON names the problem of raw the way encoding/json sees it.
func invalidJSON(raw []byte) error {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	return errors.New("invalid JSON")
}

// lineReader splits a stream into lines of at most max bytes, counting the
// bytes each line spans so that a caller can record offsets.
type lineReader struct {
	br      *bufio.Reader
	max     int
	scratch []byte
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10), max: max}
}

// next returns the next line without its terminator ("\n" or "\r\n") and
// n, the number of bytes it spans including the terminator. line is valid
// until the next call. complete is false when the stream ended (err !=
// nil) before a newline; line then holds what was read. tooLong reports a
// line of more than max bytes; its bytes are discarded (line is nil) but
// counted in n. The bound counts every byte before the newline (a "\r"
// of "\r\n" included). err is io.EOF at the end of the stream, or the read error.
func (lr *lineReader) next() (line []byte, n int64, complete, tooLong bool, err error) {
	lr.scratch = lr.scratch[:0]
	for {
		frag, err := lr.br.ReadSlice('\n')
		n += int64(len(frag))
		content := len(lr.scratch) + len(frag)
		if err == nil {
			content-- // the newline
		}
		if !tooLong && content > lr.max {
			tooLong = true
			lr.scratch = lr.scratch[:0]
		}
		switch {
		case tooLong:
		case err == nil && len(lr.scratch) == 0:
			line = frag
		default:
			lr.scratch = append(lr.scratch, frag...)
			line = lr.scratch
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if tooLong {
			return nil, n, err == nil, true, err
		}
		if err != nil {
			return line, n, false, false, err
		}
		line = line[:len(line)-1]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		return line, n, true, false, nil
	}
}

// buffered reports whether the next call can return without reading the
// underlying stream.
func (lr *lineReader) buffered() int { return lr.br.Buffered() }
