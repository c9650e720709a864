package rawjson

import (
	"fmt"
	"strings"
)

// Paths is a compiled set of key paths that Extract locates in one pass
// over an object. It is immutable and safe for concurrent use.
type Paths struct {
	root pnode
	n    int
}

type pnode struct {
	key  string
	idxs []int // the paths that end here
	kids []*pnode
	// sub lists the paths that end below this node, depth first; sig
	// spells the subtree (keys and path indexes), so that nodes of two
	// Paths with the same sig place the same paths at the same keys.
	sub []int
	sig string
}

// NewPaths compiles paths; Extract reports the value of paths[i] in
// spans[i]. Paths may repeat and share prefixes.
func NewPaths(paths ...[]string) *Paths {
	p := &Paths{n: len(paths)}
	for i, path := range paths {
		n := &p.root
		for _, k := range path {
			var c *pnode
			for _, x := range n.kids {
				if x.key == k {
					c = x
					break
				}
			}
			if c == nil {
				c = &pnode{key: k}
				n.kids = append(n.kids, c)
			}
			n = c
		}
		n.idxs = append(n.idxs, i)
	}
	p.root.index()
	return p
}

// index sets sub and sig for n and the nodes under it.
func (n *pnode) index() {
	n.sub, n.sig = n.sub[:0], ""
	var sig strings.Builder
	for _, c := range n.kids {
		c.index()
		n.sub = append(append(n.sub, c.idxs...), c.sub...)
		fmt.Fprintf(&sig, "%q%v{%s}", c.key, c.idxs, c.sig)
	}
	n.sig = sig.String()
}

// Extract validates the object b and sets spans[i] (spans holds one per
// path at least) to the position of the value at path i, or to zero when a
// key is missing or a step is not an object. The last of duplicated keys
// wins, and an earlier copy leaves nothing behind (FuzzRawJSON holds it to
// a lookup of one key at a time).
func (p *Paths) Extract(b []byte, spans []Span) error {
	return p.ExtractMemo(b, spans, nil)
}

// ExtractMemo is Extract with m (nil: none) remembering where the paths
// fell in the objects that are member values of b, so that the same bytes
// met again there, in this call or a later one, take the spans from it
// instead of being walked (see ExtractMemo).
func (p *Paths) ExtractMemo(b []byte, spans []Span, m *ExtractMemo) error {
	clear(spans[:p.n])
	s := scanner{b: b, xm: m}
	s.ws()
	if s.i >= len(b) || b[s.i] != '{' {
		return ErrSyntax
	}
	if err := s.extract(0, &p.root, spans); err != nil {
		return err
	}
	return s.end()
}

func (n *pnode) clear(spans []Span) {
	for _, i := range n.idxs {
		spans[i] = Span{}
	}
	for _, c := range n.kids {
		c.clear(spans)
	}
}

// extract scans the object at s.i, recording the members n wants.
func (s *scanner) extract(depth int, n *pnode, spans []Span) error {
	if depth >= maxDepth {
		return ErrSyntax
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	// seen marks the kids met so far in this object: only a key met again
	// (a duplicate) has spans to clear. Kids past 64 are always cleared.
	var seen uint64
	for {
		s.ws()
		kstart := s.i
		plain, err := s.str()
		if err != nil {
			return err
		}
		var c *pnode
		key := s.b[kstart+1 : s.i-1]
		if !plain {
			key = []byte(unquote(s.b[kstart:s.i]))
		}
		again := false
		for j, x := range n.kids {
			if len(x.key) == len(key) && string(key) == x.key {
				c = x
				if j < 64 {
					again = seen&(1<<j) != 0
					seen |= 1 << j
				} else {
					again = true
				}
				break
			}
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return ErrSyntax
		}
		s.i++
		s.ws()
		vstart := s.i
		switch {
		case c == nil:
			err = s.value(depth+1, nil)
		default:
			if again {
				c.clear(spans) // a later copy of the key replaces an earlier one
			}
			if len(c.kids) > 0 && s.i < len(s.b) && s.b[s.i] == '{' {
				if depth == 0 && s.xm != nil {
					err = s.xm.extract(s, c, spans)
				} else {
					err = s.extract(depth+1, c, spans)
				}
			} else {
				err = s.value(depth+1, nil)
			}
		}
		if err != nil {
			return err
		}
		if c != nil {
			for _, i := range c.idxs {
				spans[i] = Span{vstart, s.i}
			}
		}
		s.ws()
		if s.i >= len(s.b) {
			return ErrSyntax
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return ErrSyntax
		}
	}
}

// An ExtractMemo remembers, across ExtractMemo calls, the spans the paths
// got inside the objects that are member values of the top object, 64
// bytes or more, so that the same bytes at a node of the same shape (in
// this Paths or another) take them instead of a walk: in a batch of audit
// events the actor of one user's session comes back event after event. It
// holds slices of the documents it saw, which must not change while it is
// in use, and its memory grows with what it stores: use one per batch, or
// Reset it between batches. The zero ExtractMemo is ready. Not safe for
// concurrent use.
type ExtractMemo struct {
	tab   memoTable[extractEntry]
	spans []Span // the entries' spans, relative to their value's start
	hits  int
}

// Reset forgets everything m remembers, keeping its memory for the next
// batch: the documents it saw may then change.
func (m *ExtractMemo) Reset() {
	m.tab.reset()
	m.spans = m.spans[:0]
	m.hits = 0
}

type extractEntry struct {
	sig  string
	orig []byte
	off  int // where the entry's spans start in ExtractMemo.spans, one per path of sub
}

// extract is scanner.extract for the object at s.i under node c, a member
// of the top object, through m.
func (m *ExtractMemo) extract(s *scanner, c *pnode, spans []Span) error {
	start := s.i
	rest := s.b[start:]
	var set *[memoWays]extractEntry
	if len(rest) >= memoMinLen {
		set = m.tab.set(rest)
		for _, e := range set {
			if len(e.orig) > 0 && len(e.orig) <= len(rest) && e.sig == c.sig && string(e.orig) == string(rest[:len(e.orig)]) {
				for j, i := range c.sub {
					spans[i] = m.spans[e.off+j].moved(start)
				}
				s.i = start + len(e.orig)
				m.hits++
				return nil
			}
		}
	}
	if err := s.extract(1, c, spans); err != nil {
		return err
	}
	if set == nil || s.i-start < memoMinLen {
		return nil
	}
	// A failed walk later in the document leaves this entry right: it
	// holds only what this value's bytes decided.
	off := len(m.spans)
	for _, i := range c.sub {
		m.spans = append(m.spans, spans[i].moved(-start))
	}
	insert(set, extractEntry{sig: c.sig, orig: s.b[start:s.i:s.i], off: off})
	return nil
}

// moved returns sp moved by d bytes; the zero Span (no value) stays zero.
func (sp Span) moved(d int) Span {
	if sp == (Span{}) {
		return sp
	}
	return Span{sp.Start + d, sp.End + d}
}
