package redact

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Redactor is the redact transform. It is safe for concurrent use.
type Redactor struct {
	mode    string
	content string
	// fields are the configured paths; a path's rule number (see edit) is
	// its index plus one, rule 0 being the request content.
	fields   [][]segment
	patterns []pattern
	need     hint // union of the patterns' hints
	hashKey  []byte
	// secretNames and secretSuffixes are SecretKeys, normalized (see
	// isSecretKey).
	secretNames    map[string]bool
	secretSuffixes []string
	minSecretLen   int // of the names and suffixes: a shorter key is none
}

// segment is one reference token of a field path.
type segment struct {
	name  string
	any   bool // "*": any key or index
	index int  // the array index name spells in canonical decimal, or -1
}

var _ pipeline.Transform = (*Redactor)(nil)

// New returns a redactor for a config; it validates the config first.
func New(c *Config) (*Redactor, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("redact: %w", err)
	}
	r := &Redactor{mode: c.Mode, content: c.Content}
	for _, f := range c.Fields {
		tokens, _ := parsePointer(f)
		segs := make([]segment, len(tokens))
		for i, t := range tokens {
			segs[i] = segment{name: t, any: t == "*", index: -1}
			if n, err := strconv.Atoi(t); err == nil && n >= 0 && strconv.Itoa(n) == t {
				segs[i].index = n
			}
		}
		r.fields = append(r.fields, segs)
	}
	for _, n := range c.Patterns {
		r.patterns = append(r.patterns, builtins[n])
	}
	for _, p := range c.CustomPatterns {
		r.patterns = append(r.patterns, pattern{name: p.Name, need: hintNone, re: regexp.MustCompile(p.Regex)})
	}
	for _, p := range r.patterns {
		r.need |= p.need
	}
	if c.Mode == ModeHash {
		r.hashKey = []byte(c.HashKey.Value())
	}
	r.secretNames = map[string]bool{}
	for _, k := range c.SecretKeys {
		if suffix, ok := strings.CutPrefix(k, "*"); ok {
			r.secretSuffixes = append(r.secretSuffixes, string(normalizeKey(nil, []byte(suffix))))
		} else {
			r.secretNames[string(normalizeKey(nil, []byte(k)))] = true
		}
		if n := len(strings.TrimPrefix(k, "*")); r.minSecretLen == 0 || n < r.minSecretLen {
			r.minSecretLen = n
		}
	}
	return r, nil
}

// isSecretKey reports whether key names a credential (SecretKeys). buf
// is scratch space.
func (r *Redactor) isSecretKey(buf *[]byte, key []byte) bool {
	if len(key) > 64 || len(key) < r.minSecretLen || len(r.secretNames) == 0 && len(r.secretSuffixes) == 0 {
		return false
	}
	*buf = normalizeKey((*buf)[:0], key)
	if r.secretNames[string(*buf)] {
		return true
	}
	for _, s := range r.secretSuffixes {
		if bytes.HasSuffix(*buf, []byte(s)) {
			return true
		}
	}
	return false
}

// normalizeKey appends key to buf lowercased (ASCII), '-' written as '_'.
func normalizeKey(buf []byte, key []byte) []byte {
	for _, c := range key {
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c == '-':
			c = '_'
		}
		buf = append(buf, c)
	}
	return buf
}

// Start implements pipeline.Component; it does nothing.
func (*Redactor) Start(context.Context) error { return nil }

// Shutdown implements pipeline.Component; it does nothing.
func (*Redactor) Shutdown(context.Context) error { return nil }

// Process redacts every event of b in place. It does not block and ignores
// ctx. An event that is not a JSON object fails the batch permanently: it
// cannot be scanned, and passing it on could leak what it holds.
func (r *Redactor) Process(_ context.Context, b pipeline.Batch) (pipeline.Batch, error) {
	ed := r.newEditor()
	for i := range b.Events {
		if err := ed.event(&b.Events[i]); err != nil {
			return b, pipeline.Permanent(fmt.Errorf("redact: event %s: %w", b.Events[i].ID, err))
		}
	}
	return b, nil
}

// Event redacts one event in place. An event with nothing to redact keeps
// its Raw; one a transform before left decoded is encoded first.
func (r *Redactor) Event(e *pipeline.Event) error {
	return r.newEditor().event(e)
}

// scanner finds and replaces pattern matches in strings. It holds the HMAC
// of hash mode, made once per batch rather than once per marker. Not safe
// for concurrent use.
type scanner struct {
	r     *Redactor
	mac   hash.Hash
	buf   []byte // what the HMAC reads
	mark  []byte // a marker being written
	spans []span
}

func (r *Redactor) newScanner() scanner {
	s := scanner{r: r}
	if r.mode == ModeHash {
		s.mac = hmac.New(sha256.New, r.hashKey)
	}
	return s
}

// candidates is the cheap test a string passes before the patterns run on
// it: the hints of s the patterns need, 0 when none of them can match s.
// Custom patterns run on every string.
func candidates[T ~string | ~[]byte](r *Redactor, s T) hint {
	switch {
	case r.need&hintNone != 0:
		return hints(s) | hintNone
	case r.need == 0 || len(s) < 3:
		return 0
	}
	return hints(s) & r.need
}

// scan replaces every pattern match in s; ok reports a change.
func (sc *scanner) scan(s string) (string, bool) {
	h := candidates(sc.r, s)
	if h == 0 {
		return s, false
	}
	return sc.scanMatches(s, h)
}

type span struct {
	start, end int
	kind       string
}

// scanMatches replaces every pattern match in s, whose candidates are h,
// rescanning the result.
func (sc *scanner) scanMatches(s string, h hint) (string, bool) {
	out, changed := s, false
	for pass := 0; pass < 3; pass++ {
		spans := sc.r.find(sc.spans[:0], out, h)
		sc.spans = spans
		if len(spans) == 0 {
			return out, changed
		}
		whole := len(spans) == 1 && spans[0].start == 0 && spans[0].end == len(out)
		out, changed = sc.replace(out, spans), true
		if whole {
			return out, true // one marker, which nothing matches
		}
		h = candidates(sc.r, out)
	}
	if len(sc.r.find(sc.spans[:0], out, h)) > 0 {
		// Replacement keeps creating matches: give up on the string.
		return sc.marker("content", s), true
	}
	return out, true
}

// find appends to spans the matches in s outside markers, merged where
// they overlap; h is candidates(r, s).
func (r *Redactor) find(spans []span, s string, h hint) []span {
	var markers [][]int
	var found [2][2]int // most strings hold one match or two
	markersDone := false
	for i := range r.patterns {
		p := &r.patterns[i]
		if p.need&hintNone == 0 && h&p.need == 0 {
			continue
		}
		if p.whole != nil && p.whole(s) {
			// s is one match from end to end (and holds no marker).
			spans = append(spans, span{0, len(s), p.name})
			continue
		}
		for _, m := range p.matches(found[:0], s) {
			if m[0] == m[1] || p.valid != nil && !p.valid(s, m[0], m[1]) {
				continue
			}
			if !markersDone {
				markers, markersDone = markerRE.FindAllStringIndex(s, -1), true
			}
			if insideMarker(markers, m[0], m[1]) {
				continue
			}
			spans = append(spans, span{m[0], m[1], p.name})
		}
	}
	if len(spans) < 2 {
		return spans
	}
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].start != spans[j].start {
			return spans[i].start < spans[j].start
		}
		return spans[i].end > spans[j].end
	})
	merged := spans[:1]
	for _, sp := range spans[1:] {
		last := &merged[len(merged)-1]
		if sp.start < last.end {
			if sp.end > last.end {
				last.end = sp.end
			}
			continue
		}
		merged = append(merged, sp)
	}
	return merged
}

func insideMarker(markers [][]int, start, end int) bool {
	for _, m := range markers {
		if start >= m[0] && end <= m[1] {
			return true
		}
	}
	return false
}

func (sc *scanner) replace(s string, spans []span) string {
	var b strings.Builder
	b.Grow(len(s) + 48*len(spans))
	prev := 0
	for _, sp := range spans {
		b.WriteString(s[prev:sp.start])
		if sc.r.mode == ModeRemove {
			b.WriteString("[REDACTED:")
			b.WriteString(sp.kind)
			b.WriteByte(']')
		} else {
			sc.mark = sc.appendMarker(sc.mark[:0], sp.kind, s[sp.start:sp.end])
			b.Write(sc.mark)
		}
		prev = sp.end
	}
	b.WriteString(s[prev:])
	return b.String()
}

// marker renders the replacement of val.
func (sc *scanner) marker(kind, val string) string {
	return string(sc.appendMarker(make([]byte, 0, 64), kind, val))
}

// appendMarker appends the replacement of val to m.
func (sc *scanner) appendMarker(m []byte, kind, val string) []byte {
	m = append(m, "[REDACTED:"...)
	m = append(m, kind...)
	m = append(m, " len="...)
	m = strconv.AppendInt(m, int64(len(val)), 10)
	if sc.mac != nil {
		if kind == "email" {
			val = strings.ToLower(val)
		}
		sc.buf = append(sc.buf[:0], val...)
		sc.mac.Reset()
		sc.mac.Write(sc.buf)
		var sum [sha256.Size]byte
		m = append(m, " hmac="...)
		m = hex.AppendEncode(m, sc.mac.Sum(sum[:0])[:8])
	}
	return append(m, ']')
}

// isMarker reports whether s is one marker, which is never redacted again.
func isMarker(s string) bool {
	return s != "" && markerRE.FindString(s) == s
}
