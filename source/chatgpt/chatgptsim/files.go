package chatgptsim

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
)

// The export's files. A type's timeline is cut into slots of Interval;
// slot k ends at Start + phase + (k+1)*Interval and holds one file, or two
// sharing that end_time (Options.SharedEnd). Nothing is stored per file:
// a file's id encodes its coordinates, and its lines are rendered from
// them when asked for.

// fileRef is a file's coordinates.
type fileRef struct {
	t    int   // index in Server.types
	slot int64 // slot number, from 0
	j    int   // its place in the slot: 0, or 1 for the second of two
}

// fileSum is what the listing tells of a file's bytes.
type fileSum struct {
	size  int64
	sum   [sha256.Size]byte
	lines int
}

// maxSlot bounds slot numbers so that they fit the 48 bits of an id;
// Server.lastSlot bounds them further so that an end_time fits an int64.
const maxSlot = 1<<48 - 1

func (s *Server) phase(t int) int64 {
	secs := int64(s.interval / time.Second)
	return int64(simkit.Hash(s.key, uint64(t), 0xa5)%uint64(secs)) * int64(time.Second)
}

// endNs is the end_time of slot of type t, Unix ns (whole seconds).
func (s *Server) endNs(t int, slot int64) int64 {
	return s.startNs + s.phases[t] + (slot+1)*int64(s.interval)
}

// filesIn is how many files slot of type t holds.
func (s *Server) filesIn(t int, slot int64) int {
	if s.opts.SharedEnd > 0 && float64(simkit.Hash(s.key, uint64(t), uint64(slot), 0x5a)>>11)/(1<<53) < s.opts.SharedEnd {
		return 2
	}
	return 1
}

// ownLines is how many lines of its own file f has.
func (s *Server) ownLines(f fileRef) int {
	if n, ok := s.big[f]; ok {
		return n
	}
	l := s.opts.Lines
	if l == 0 {
		l = 20
	}
	r := simkit.NewRNG(simkit.Hash(s.key, uint64(f.t), uint64(f.slot), uint64(f.j), 0x11))
	return r.Between(max(1, l/2), max(1, l*3/2))
}

// prev is the file before f in its type's listing order.
func (s *Server) prev(f fileRef) (fileRef, bool) {
	switch {
	case f.j > 0:
		return fileRef{f.t, f.slot, f.j - 1}, true
	case f.slot > 0:
		return fileRef{f.t, f.slot - 1, s.filesIn(f.t, f.slot-1) - 1}, true
	}
	return fileRef{}, false
}

// dupLines is how many copies of the previous file's last lines f starts
// with: at-least-once delivery seen from the reader's side.
func (s *Server) dupLines(f fileRef) (fileRef, int) {
	p, ok := s.prev(f)
	if !ok || s.opts.DuplicateFraction <= 0 {
		return p, 0
	}
	r := simkit.NewRNG(simkit.Hash(s.key, uint64(f.t), uint64(f.slot), uint64(f.j), 0xd0))
	if !r.Chance(s.opts.DuplicateFraction) {
		return p, 0
	}
	return p, min(r.Between(1, 3), s.ownLines(p))
}

// lines calls fn with each line of f, in order, rendered into one reused
// buffer (valid during the call only), until fn returns false.
func (s *Server) lines(f fileRef, fl *filler, msg func(string), fn func(line []byte) bool) {
	buf := make([]byte, 0, 8<<10)
	p, d := s.dupLines(f)
	if d > 0 {
		pn := s.ownLines(p)
		for i := pn - d; i < pn; i++ {
			buf = s.appendLine(buf[:0], fl, msg, p, i, pn)
			if !fn(buf) {
				return
			}
		}
	}
	n := s.ownLines(f)
	for i := range n {
		buf = s.appendLine(buf[:0], fl, msg, f, i, n)
		if !fn(buf) {
			return
		}
	}
}

// sum returns the size and digest of f, rendering it once (line by line,
// in constant memory) the first time it is asked for. Rendering twice
// (once here, once when the file is downloaded) is the simple way to know
// a streamed file's digest before sending it: the bytes are a function of
// the seed, so both passes agree, and the cache keeps 48 bytes per file.
func (s *Server) sum(f fileRef) fileSum {
	s.sumMu.Lock()
	fs, ok := s.sums[f]
	s.sumMu.Unlock()
	if ok {
		return fs
	}
	h := sha256.New()
	var fl filler
	s.lines(f, &fl, nil, func(line []byte) bool {
		h.Write(line)
		fs.size += int64(len(line))
		fs.lines++
		return true
	})
	h.Sum(fs.sum[:0])
	s.sumMu.Lock()
	s.sums[f] = fs
	s.sumMu.Unlock()
	return fs
}

const fileIDPrefix = "eclf_"

func (s *Server) fileID(f fileRef) string {
	x := uint64(f.t)<<56 | uint64(f.slot)<<8 | uint64(f.j)
	return string(simkit.AppendHex64([]byte(fileIDPrefix), s.ids.Encode(x)))
}

// parseFileID decodes a file id; ok is false for an id no file of this
// export has (visible or not: the caller checks the clock).
func (s *Server) parseFileID(id string) (fileRef, bool) {
	if len(id) != len(fileIDPrefix)+16 || id[:len(fileIDPrefix)] != fileIDPrefix {
		return fileRef{}, false
	}
	v, err := strconv.ParseUint(id[len(fileIDPrefix):], 16, 64)
	if err != nil {
		return fileRef{}, false
	}
	x := s.ids.Decode(v)
	f := fileRef{t: int(x >> 56), slot: int64(x>>8) & maxSlot, j: int(x & 0xff)}
	if f.t >= len(s.types) || f.slot > s.lastSlot || f.j >= s.filesIn(f.t, f.slot) {
		return fileRef{}, false
	}
	return f, true
}

// fileName is the export's file name: TYPE_<end_time with +00:00>.jsonl,
// the second file of a slot suffixed -2 so that names stay unique.
func (s *Server) fileName(f fileRef) string {
	b := append([]byte(s.types[f.t]), '_')
	b = time.Unix(0, s.endNs(f.t, f.slot)).UTC().AppendFormat(b, "2006-01-02T15:04:05-07:00")
	if f.j > 0 {
		b = append(b, "-2"...)
	}
	return string(append(b, ".jsonl"...))
}

// visible reports whether f is listed at now (Unix ns).
func (s *Server) visible(f fileRef, now int64) bool { return s.endNs(f.t, f.slot) <= now }

// list returns the files of type t whose end_time is at or after after
// (inclusive: see serveList), before before when that is set (0 = none),
// and not after now, in order, at most limit of them, and whether more
// follow. All bounds are Unix ns.
func (s *Server) list(t int, after, before, now int64, limit int) (page []fileRef, more bool) {
	slot := int64(0)
	if base := s.endNs(t, 0); after > base {
		slot = ceilDiv(after-base, int64(s.interval))
	}
	for ; slot <= s.lastSlot; slot++ {
		end := s.endNs(t, slot)
		if end > now || (before != 0 && end >= before) {
			return page, false
		}
		for j := range s.filesIn(t, slot) {
			if len(page) == limit {
				return page, true
			}
			page = append(page, fileRef{t, slot, j})
		}
	}
	return page, false
}

func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a > 0) == (b > 0) {
		q++
	}
	return q
}

// FileInfo describes one exported file, as the listing does.
type FileInfo struct {
	ID        string
	EventType string
	EndTime   time.Time
	Name      string
	Size      int64
	SHA256    string // lower-case hex
	Lines     int    // duplicates included
}

func (s *Server) info(f fileRef) FileInfo {
	fs := s.sum(f)
	return FileInfo{
		ID: s.fileID(f), EventType: s.types[f.t], EndTime: time.Unix(0, s.endNs(f.t, f.slot)).UTC(),
		Name: s.fileName(f), Size: fs.size, SHA256: hex.EncodeToString(fs.sum[:]), Lines: fs.lines,
	}
}
