package chain

import (
	"bufio"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

// Break is where an archive stops being what auditrelay wrote.
type Break struct {
	// File is the data file, Line the line (from 1) where the break is
	// seen: the first line that does not match, or the line a head covers
	// up to when the head itself is wrong.
	File   string
	Line   int64
	Reason string
}

func (b *Break) String() string { return fmt.Sprintf("%s line %d: %s", b.File, b.Line, b.Reason) }

// Tail is what follows the archive's last signed head: lines written for
// a window that was never committed (the writer is still running, or was
// killed; its next start removes them and writes the window again). No
// signature covers them.
type Tail struct {
	File string
	// From is the first line after the last head; Lines how many follow
	// with their chain values.
	From, Lines int64
	// Unwritten counts chain values whose lines never reached the file,
	// CutShort is true when the last line ends without a newline: both
	// what a kill in the middle of a write leaves.
	Unwritten int64
	CutShort  bool
}

// Part is what Verify found in one file.
type Part struct {
	File  string
	Part  int64 // 0 when the file holds no head
	Lines int64
	Heads int64
}

// Result is the outcome of Verify.
type Result struct {
	Parts []Part
	// Break is the first break; nil when the chain and every head hold.
	Break *Break
	// Tail is the uncommitted tail after the last head, nil when none.
	Tail *Tail
	// Heads counts the heads that verified, Last is the last of them.
	Heads int64
	Last  *Head
	// FirstPart is the part the files given start at: a value above 1
	// means the earlier parts were not given (not a break).
	FirstPart int64
}

// Verify checks the archive made of files (a data file each, its sidecar
// beside it; parts in any order) against pub. An error is a file that
// cannot be read; everything wrong with the archive is in the result.
func Verify(files []string, pub ed25519.PublicKey) (*Result, error) {
	type entry struct {
		path string
		part int64 // of its first head; 0 when none
	}
	var es []entry
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			return nil, err
		}
		h, ok, err := firstHead(f+SidecarSuffix, pub)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		p := int64(0)
		if ok {
			p = h.Part
		}
		es = append(es, entry{f, p})
	}
	// By part; a file without a head (a part started and not yet
	// committed) goes last.
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i].part, es[j].part
		if a == 0 || b == 0 {
			return a != 0 && b == 0
		}
		return a < b
	})
	v := &verifier{pub: pub, res: &Result{}}
	for i, e := range es {
		if err := v.part(e.path, i == len(es)-1); err != nil {
			return nil, err
		}
		if v.res.Break != nil {
			break
		}
	}
	return v.res, nil
}

// firstHead returns the first head of a sidecar, unchecked beyond its
// signature: it only orders the files.
func firstHead(path string, pub ed25519.PublicKey) (Head, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return Head{}, false, err
	}
	defer f.Close()
	r := newLineReader(f)
	for {
		line, whole, err := r.next()
		if err == io.EOF || (err == nil && !whole) {
			return Head{}, false, nil
		}
		if err != nil {
			return Head{}, false, err
		}
		if isHead(line) {
			h, err := ParseHead(line, pub)
			return h, err == nil, nil
		}
	}
}

type verifier struct {
	pub ed25519.PublicKey
	res *Result
	// What the part before ended with.
	archive   string
	prevPart  int64
	prevSeq   int64
	prevChain *Value
}

func (v *verifier) fail(file string, line int64, format string, args ...any) {
	v.res.Break = &Break{File: file, Line: line, Reason: fmt.Sprintf(format, args...)}
}

// part verifies one data file and its sidecar.
func (v *verifier) part(path string, last bool) error {
	data, err := os.Open(path)
	if err != nil {
		return err
	}
	defer data.Close()
	side, err := os.Open(path + SidecarSuffix)
	if errors.Is(err, os.ErrNotExist) {
		v.fail(path, 1, "its chain sidecar %s is missing", path+SidecarSuffix)
		return nil
	}
	if err != nil {
		return err
	}
	defer side.Close()
	first, hasHead, err := firstHead(path+SidecarSuffix, v.pub)
	if err != nil {
		return err
	}
	var n int64 // data lines read
	p := Part{File: path, Part: first.Part}
	defer func() { p.Lines = n; v.res.Parts = append(v.res.Parts, p) }()

	// Where the chain starts: the first head says, and it must be where
	// the part before ended.
	var c Value
	startKnown := true
	switch {
	case hasHead:
		if c, err = ParseValue([]byte(first.Start)); err != nil {
			v.fail(path, 0, "its first head has no start value")
			return nil
		}
		if v.prevChain != nil {
			if first.Part != v.prevPart+1 {
				v.fail(path, 1, "it is part %d, but the part before it is %d: a part is missing", first.Part, v.prevPart)
				return nil
			}
			if c != *v.prevChain {
				v.fail(path, 1, "part %d does not start where part %d ends (start %s, part %d ended with %s)",
					first.Part, v.prevPart, c, v.prevPart, v.prevChain)
				return nil
			}
		} else {
			v.res.FirstPart = first.Part
		}
	case v.prevChain != nil:
		c = *v.prevChain
	default:
		startKnown = false // nothing says where it starts: the first value is taken as it is
	}
	if !hasHead && v.prevChain != nil {
		first.Part = v.prevPart + 1
		p.Part = first.Part
	}

	dr, sr := newLineReader(data), newLineReader(side)
	var (
		size           int64 // data bytes read
		headLines      int64 // lines the last head of this part covers
		sideLine       int64
		unwritten      int64 // values with no line
		cutShort       bool
		partOfThisFile = first.Part
	)
	for {
		sl, whole, err := sr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		sideLine++
		if !whole {
			break // a value or head cut short by a kill: never committed
		}
		if isHead(sl) {
			h, err := ParseHead(sl, v.pub)
			if err != nil {
				v.fail(path, n, "the head on line %d of its sidecar: %v", sideLine, err)
				return nil
			}
			switch {
			case unwritten > 0 || cutShort:
				v.fail(path, n+1, "the file ends at line %d, but head %d covers %d lines: the file was truncated", n, h.Seq, h.Lines)
			case v.archive != "" && h.Archive != v.archive:
				v.fail(path, n, "head %d belongs to the archive %q, not %q", h.Seq, h.Archive, v.archive)
			case h.Part != partOfThisFile:
				v.fail(path, n, "head %d says part %d in a file of part %d", h.Seq, h.Part, partOfThisFile)
			case v.prevSeq == 0 && h.Part == 1 && h.Seq != 1:
				v.fail(path, n, "the first head of part 1 is head %d: the heads before it are missing", h.Seq)
			case v.prevSeq != 0 && h.Seq != v.prevSeq+1:
				v.fail(path, n, "head %d follows head %d: a committed window's head is missing", h.Seq, v.prevSeq)
			case h.Lines != n || h.Bytes != size:
				v.fail(path, n, "head %d covers %d lines (%d bytes), the chain before it %d lines (%d bytes)", h.Seq, h.Lines, h.Bytes, n, size)
			case h.Chain != c.String() || h.Start != first.Start:
				v.fail(path, n, "head %d does not match the lines before it: they were changed, and their chain values written again", h.Seq)
			}
			if v.res.Break != nil {
				return nil
			}
			v.archive, v.prevSeq, headLines = h.Archive, h.Seq, n
			hc := h
			v.res.Last = &hc
			v.res.Heads++
			p.Heads++
			continue
		}
		want, err := ParseValue(sl)
		if err != nil {
			v.fail(path, n+1, "line %d of its sidecar is neither a chain value nor a head", sideLine)
			return nil
		}
		if cutShort {
			unwritten++ // after a line cut short, the rest was never written
			continue
		}
		line, whole, err := dr.next()
		if err == io.EOF {
			unwritten++
			continue
		}
		if err != nil {
			return err
		}
		n++
		size += int64(len(line))
		if whole {
			size++
		}
		got := Next(c, line)
		if !startKnown && n == 1 {
			got, startKnown = want, true
		}
		if got != want {
			if !whole {
				cutShort = true // the last line, cut short by a kill
				continue
			}
			v.fail(path, n, "the line does not match its chain value: it was changed, or a line before it was removed, inserted or moved")
			return nil
		}
		c = got
	}
	// Lines with no chain value were not written by auditrelay.
	if _, _, err := dr.next(); err == nil {
		v.fail(path, n+1, "the line has no chain value: it was added after auditrelay wrote the file")
		return nil
	} else if err != io.EOF {
		return err
	}
	v.prevPart, v.prevChain = partOfThisFile, &c
	if n > headLines || unwritten > 0 || cutShort {
		if !last {
			v.fail(path, headLines+1, "lines after the last head of a part that is not the last one")
			return nil
		}
		v.res.Tail = &Tail{File: path, From: headLines + 1, Lines: n - headLines, Unwritten: unwritten, CutShort: cutShort}
	}
	return nil
}

// lineReader reads lines of any length.
type lineReader struct {
	r   *bufio.Reader
	buf []byte
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 1<<20)}
}

// next returns the next line without its newline, and whether it had one;
// io.EOF when nothing is left. The line is valid until the next call.
func (l *lineReader) next() ([]byte, bool, error) {
	l.buf = l.buf[:0]
	for {
		chunk, err := l.r.ReadSlice('\n')
		switch {
		case err == nil:
			if len(l.buf) == 0 {
				return chunk[:len(chunk)-1], true, nil
			}
			l.buf = append(l.buf, chunk[:len(chunk)-1]...)
			return l.buf, true, nil
		case errors.Is(err, bufio.ErrBufferFull):
			l.buf = append(l.buf, chunk...)
		case err == io.EOF:
			l.buf = append(l.buf, chunk...)
			if len(l.buf) == 0 {
				return nil, false, io.EOF
			}
			return l.buf, false, nil
		default:
			return nil, false, err
		}
	}
}
