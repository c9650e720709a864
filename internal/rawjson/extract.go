package rawjson

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
	return p
}

// Extract validates the object b and sets spans[i] (spans holds one per
// path at least) to the position of the value at path i, or to zero when a
// key is missing or a step is not an object. The last of duplicated keys
// wins, and an earlier copy leaves nothing behind (FuzzRawJSON holds it to
// a lookup of one key at a time).
func (p *Paths) Extract(b []byte, spans []Span) error {
	clear(spans[:p.n])
	s := scanner{b: b}
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
				err = s.extract(depth+1, c, spans)
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
