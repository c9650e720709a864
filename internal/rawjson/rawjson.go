package rawjson

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/maphash"
	"math/bits"
	"unicode/utf8"
)

// ErrSyntax reports input this package does not accept.
var ErrSyntax = errors.New("rawjson: malformed JSON")

const maxDepth = 1000

// Kind says what a token handed to a RewriteSieved callback is.
type Kind uint8

// The token kinds.
const (
	Key    Kind = iota + 1 // an object key (a string token)
	String                 // a string value
	Number                 // a number value
)

// Span is the position [Start, End) of a value in the input.
type Span struct{ Start, End int }

type scanner struct {
	b []byte
	i int
	// rw, when set, is the RewriteSieved walk this scanner serves; xm the
	// memo of an Extract.
	rw *rewriter
	xm *ExtractMemo
	// sv, when set, sums its table over each string token into sum and
	// decides which tokens the callback of value sees.
	sv  *Sieve
	sum uint64
}

// ws skips white space. Compact JSON has none: the check of one byte
// stays inline, the loop does not.
func (s *scanner) ws() {
	if s.i < len(s.b) && s.b[s.i] > ' ' {
		return
	}
	s.wsLoop()
}

func (s *scanner) wsLoop() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// str scans the string token at s.i. plain reports that the bytes between
// the quotes are the decoded string: no escapes, valid UTF-8.
func (s *scanner) str() (plain bool, err error) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return false, ErrSyntax
	}
	start := s.i + 1
	s.i++
	escaped, nonASCII := false, false
	if s.sv != nil {
		s.sum = s.sv.start
	}
	for s.i < len(s.b) {
		if s.sv != nil {
			s.i = s.sv.run(s.b, s.i, &s.sum)
		} else {
			s.i = plainRun(s.b, s.i)
		}
		if s.i >= len(s.b) {
			break
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return !escaped && (!nonASCII || utf8.Valid(s.b[start:s.i-1])), nil
		case c == '\\':
			escaped = true
			if s.i+1 >= len(s.b) {
				return false, ErrSyntax
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) {
					return false, ErrSyntax
				}
				for _, h := range s.b[s.i+2 : s.i+6] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return false, ErrSyntax
					}
				}
				s.i += 6
			default:
				return false, ErrSyntax
			}
		case c < 0x20:
			return false, ErrSyntax
		default:
			if c >= 0x80 {
				nonASCII = true
			}
			s.i++
		}
	}
	return false, ErrSyntax
}

// plainByte marks the bytes a string holds as they are: printable ASCII
// other than '"' and '\\'.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// special8 marks, in the high bit of its byte, every byte of the 8 in x
// (little endian: the first byte lowest) that is not a plainByte: below
// 0x20, '"', '\\' or 0x80 and above. These are the usual SWAR tests; a
// borrow can mark a plain byte, but only above a byte rightly marked, so
// the lowest mark is always exact.
func special8(x uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q, bs := x^(lo*'"'), x^(lo*'\\')
	return ((x-lo*0x20)&^x | (q-lo)&^q | (bs-lo)&^bs | x) & hi
}

// plainRun returns the index of the first byte of b at or after i that is
// not a plainByte, or len(b).
func plainRun(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		if m := special8(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(b) && plainByte[b[i]] {
		i++
	}
	return i
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && isDigit(s.b[s.i]) {
		s.i++
	}
	return s.i > start
}

// num scans a number token: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) num() error {
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.i < len(s.b) && s.b[s.i] >= '1' && s.b[s.i] <= '9':
		s.digits()
	default:
		return ErrSyntax
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if !s.digits() {
			return ErrSyntax
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if !s.digits() {
			return ErrSyntax
		}
	}
	return nil
}

func (s *scanner) lit(word string) error {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return ErrSyntax
	}
	s.i += len(word)
	return nil
}

// value scans one value; fn, when not nil, sees every key, string and
// number token.
func (s *scanner) value(depth int, fn func(start int, k Kind, plain bool) error) error {
	s.ws()
	if s.i >= len(s.b) {
		return ErrSyntax
	}
	switch c := s.b[s.i]; {
	case c == '{' || c == '[':
		if depth == 1 && s.rw != nil && s.rw.m != nil {
			return s.rw.member(fn)
		}
		return s.container(depth, fn)
	case c == '"':
		start := s.i
		plain, err := s.str()
		if err == nil && fn != nil && (s.sv == nil || s.sv.want(s.b[start:s.i], String, plain, s.sum)) {
			err = fn(start, String, plain)
		}
		return err
	case c == '-' || isDigit(c):
		start := s.i
		err := s.num()
		if err == nil && fn != nil {
			err = fn(start, Number, true)
		}
		return err
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	}
	return ErrSyntax
}

// container scans the object or array at s.i, as value does.
func (s *scanner) container(depth int, fn func(start int, k Kind, plain bool) error) error {
	if depth >= maxDepth {
		return ErrSyntax
	}
	if s.b[s.i] == '[' {
		return s.array(depth, fn)
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		s.ws()
		start := s.i
		plain, err := s.str()
		if err != nil {
			return err
		}
		if fn != nil && (s.sv == nil || s.sv.want(s.b[start:s.i], Key, plain, s.sum)) {
			if err := fn(start, Key, plain); err != nil {
				return err
			}
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return ErrSyntax
		}
		s.i++
		if err := s.value(depth+1, fn); err != nil {
			return err
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

func (s *scanner) array(depth int, fn func(start int, k Kind, plain bool) error) error {
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		if err := s.value(depth+1, fn); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return ErrSyntax
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return ErrSyntax
		}
	}
}

// end checks that only white space follows the top-level value.
func (s *scanner) end() error {
	s.ws()
	if s.i != len(s.b) {
		return ErrSyntax
	}
	return nil
}

// RewriteSieved walks the JSON object b and calls fn with every key,
// string and number token (strings with their quotes) that sv lets through
// (nil: every token); the whole object is still validated. plain reports
// that a string token's content between the quotes is its decoded value (no
// escapes, valid UTF-8); numbers are always plain. fn also gets the sum sv
// added up over the token (its start value included) when the token is a
// plain string or key of at most sv's maxLen bytes between its quotes, so
// that it need not count the bytes again; for every other token sum is 0.
// When fn returns a non-nil replacement, the token is replaced by it; fn
// must return valid JSON. RewriteSieved returns b itself when nothing was
// replaced, else a new slice taken from a (nil: a fresh allocation); b is
// never modified. An error from fn stops the walk and is returned.
//
// m, when not nil and sv is not nil, remembers what the walk did to the
// objects and arrays that are member values of b, so that a later call
// meeting the same bytes there copies the result instead of walking them
// again (see Memo).
func RewriteSieved(a Allocator, b []byte, sv *Sieve, m *Memo, fn func(tok []byte, k Kind, plain bool, sum uint64) ([]byte, error)) ([]byte, error) {
	if a == nil {
		a = (*Arena)(nil) // which allocates each result on its own
	}
	if m == nil || sv == nil {
		r := rewriter{s: scanner{b: b, sv: sv}, a: a, rec: -1}
		return r.run(fn)
	}
	// The walk's state lives in m: the scanner points back at it, which
	// would move a local one to the heap on every call.
	r := &m.rw
	*r = rewriter{s: scanner{b: b, sv: sv}, a: a, m: m, rec: -1, pending: r.pending[:0]}
	r.s.rw = r
	out, err := r.run(fn)
	*r = rewriter{pending: r.pending[:0]} // hold on to nothing of this call
	return out, err
}

// run walks r.s.b; fn is RewriteSieved's callback (kept out of r, which
// may live on the heap, so that it need not).
func (r *rewriter) run(fn func(tok []byte, k Kind, plain bool, sum uint64) ([]byte, error)) ([]byte, error) {
	b := r.s.b
	r.s.ws()
	if r.s.i >= len(b) || b[r.s.i] != '{' {
		return nil, ErrSyntax
	}
	err := r.s.value(0, func(start int, k Kind, plain bool) error { return r.token(fn, start, k, plain) })
	if err == nil {
		err = r.s.end()
	}
	if err != nil {
		return nil, err
	}
	out := b
	if r.out != nil {
		out = r.a.Keep(append(r.out, b[r.copied:]...))
	}
	for _, p := range r.pending {
		var rep []byte
		if p.repStart >= 0 {
			rep = out[p.repStart:p.repEnd:p.repEnd]
		}
		r.m.store(b[p.start:p.end:p.end], rep)
	}
	return out, nil
}

// rewriter is the state of one RewriteSieved walk.
type rewriter struct {
	s      scanner
	a      Allocator
	out    []byte // nil until the first replacement
	copied int    // b[:copied] is in out
	m      *Memo
	// rec is the start in b of the member value being walked for m (-1:
	// none), recOut where its bytes start in out once a replacement
	// inside it wrote there (-1: not yet), recSkip that it holds a token
	// fn must see every time.
	rec, recOut int
	recSkip     bool
	pending     []memoPending // stored in m once the walk succeeds
}

// memoPending is a member value walked, by its positions in b and in the
// output (repStart -1: unchanged).
type memoPending struct{ start, end, repStart, repEnd int }

// token hands a token that ends at s.i to fn and applies its answer.
func (r *rewriter) token(fn func(tok []byte, k Kind, plain bool, sum uint64) ([]byte, error), start int, k Kind, plain bool) error {
	s, sv := &r.s, r.s.sv
	tok := s.b[start:s.i]
	var sum uint64
	if sv != nil && k != Number && plain && len(tok)-2 <= sv.maxLen {
		sum = s.sum
	}
	if r.rec >= 0 && k == Key && (!plain || sv.named(tok)) {
		r.recSkip = true
	}
	rep, err := fn(tok, k, plain, sum)
	if err != nil || rep == nil {
		return err
	}
	r.replace(start, s.i, rep)
	return nil
}

// replace writes rep to the output in place of b[start:end].
func (r *rewriter) replace(start, end int, rep []byte) {
	b := r.s.b
	if r.out == nil {
		r.out = r.a.Get(len(b) + len(rep) + 64)
	}
	if r.rec >= 0 && r.recOut < 0 {
		r.recOut = len(r.out) + r.rec - r.copied
	}
	r.out = append(r.out, b[r.copied:start]...)
	r.out = append(r.out, rep...)
	r.copied = end
}

// member walks the object or array at s.i, a member value of the top
// object, or copies what m remembers of the same bytes.
func (r *rewriter) member(fn func(start int, k Kind, plain bool) error) error {
	s := &r.s
	start := s.i
	if orig, rep, ok := r.m.lookup(s.b, start); ok {
		end := start + len(orig)
		if rep != nil {
			r.replace(start, end, rep)
		}
		s.i = end
		return nil
	}
	r.rec, r.recOut, r.recSkip = start, -1, false
	err := s.container(1, fn)
	if err == nil && s.i-start >= memoMinLen && !r.recSkip {
		p := memoPending{start: start, end: s.i, repStart: -1}
		if r.recOut >= 0 {
			r.out = append(r.out, s.b[r.copied:s.i]...)
			r.copied = s.i
			p.repStart, p.repEnd = r.recOut, len(r.out)
		}
		r.pending = append(r.pending, p)
	}
	r.rec = -1
	return err
}

// A Memo remembers, across RewriteSieved calls, what the walk did to the
// objects and arrays that are member values of the top object, so that the
// same bytes met again at that place are copied from the last result
// instead of walked: in a batch of audit events the actor of one user's
// session, or the same annotation, comes back event after event. The
// callback is then not called for their tokens, which is right only when it
// answers the same for the same token every time, with one exception: a
// value that holds a key the sieve names, or a key with escapes, is never
// remembered, so fn sees those keys every time. Values shorter than
// memoMinLen are not worth it. A Memo holds slices of the inputs and
// results of the calls it served: neither may change while it is in use.
// Use one Memo with one sieve and callback only; the zero Memo is ready.
// Not safe for concurrent use.
type Memo struct {
	tab memoTable[memoEntry]
	rw  rewriter
}

type memoEntry struct {
	orig, rep []byte // rep nil: unchanged
}

const (
	memoSets = 64
	memoWays = 4
	// memoMinLen is the shortest value remembered; lookups hash this many
	// bytes, which for a remembered value are all its own.
	memoMinLen = 64
)

// memoTable holds what Memo and ExtractMemo remember: memoSets sets of
// memoWays entries, a value's set chosen by a hash of its first memoMinLen
// bytes, the newest entry first in its set.
type memoTable[E any] struct {
	seed maphash.Seed
	sets [memoSets][memoWays]E
}

// set returns the set of the value b begins with (b holds at least
// memoMinLen bytes).
func (t *memoTable[E]) set(b []byte) *[memoWays]E {
	if t.seed == (maphash.Seed{}) {
		t.seed = maphash.MakeSeed()
	}
	return &t.sets[maphash.Bytes(t.seed, b[:memoMinLen])%memoSets]
}

// reset empties t, keeping its seed.
func (t *memoTable[E]) reset() { clear(t.sets[:]) }

// insert puts e first in set, dropping the oldest entry.
func insert[E any](set *[memoWays]E, e E) {
	copy(set[1:], set[:memoWays-1])
	set[0] = e
}

// lookup finds a remembered value that b[start:] begins with.
func (m *Memo) lookup(b []byte, start int) (orig, rep []byte, ok bool) {
	rest := b[start:]
	if len(rest) < memoMinLen {
		return nil, nil, false
	}
	for _, e := range m.tab.set(rest) {
		if len(e.orig) > 0 && len(e.orig) <= len(rest) && string(e.orig) == string(rest[:len(e.orig)]) {
			return e.orig, e.rep, true
		}
	}
	return nil, nil, false
}

// Reset forgets everything m remembers, so that the inputs and results of
// the calls it served may change: a Memo kept for the next batch is Reset
// first.
func (m *Memo) Reset() {
	m.tab.reset()
	m.rw = rewriter{pending: m.rw.pending[:0]}
}

// store remembers that orig (memoMinLen bytes or more) became rep (nil:
// unchanged).
func (m *Memo) store(orig, rep []byte) {
	insert(m.tab.set(orig), memoEntry{orig: orig, rep: rep})
}

// A Sieve lets RewriteSieved skip the callback for the string tokens that
// cannot interest it, without a second pass over their bytes: while
// scanning a string the scanner adds up, from a start value, a table entry
// per byte. A plain token (no escape, ASCII only) of at most maxLen bytes
// between its quotes reaches the callback only when its sum has every bit
// of one rule's Mask and it is at least that rule's MinLen long, or when it
// is a key the sieve names. Every other token (numbers too) reaches it.
// Table entries use bits 0-62. A Sieve is immutable and safe for
// concurrent use.
type Sieve struct {
	table  [256]uint64 // the caller's entries; sieveStop on the bytes a plain run stops at
	start  uint64
	maxLen int
	keys   [][]byte // key tokens, quotes included, that always pass
	first  [256]bool
	rules  []SieveRule
	any    uint64 // the bits of every rule's Mask
}

// SieveRule is one way a token's sum lets it through.
type SieveRule struct {
	Mask   uint64
	MinLen int
}

const sieveStop = 1 << 63

// NewSieve returns a sieve summing table from start; keys are plain key
// names (no escapes) that always pass.
func NewSieve(table *[256]uint64, start uint64, maxLen int, keys []string, rules ...SieveRule) *Sieve {
	sv := &Sieve{table: *table, start: start, maxLen: maxLen, rules: rules}
	for _, r := range rules {
		sv.any |= r.Mask
		if r.Mask == 0 { // passes on length alone
			sv.any = ^uint64(0)
		}
	}
	for _, k := range keys {
		tok := AppendString(nil, k)
		sv.keys = append(sv.keys, tok)
		sv.first[tok[1]] = true // '"' for the empty key
	}
	for c := range sv.table {
		sv.table[c] &^= sieveStop
		if !plainByte[c] {
			sv.table[c] |= sieveStop
		}
	}
	return sv
}

// run is plainRun adding the table entry of every byte it passes to sum.
func (sv *Sieve) run(b []byte, i int, sum *uint64) int {
	acc := *sum
	for ; i < len(b); i++ {
		k := sv.table[b[i]]
		if k&sieveStop != 0 {
			break
		}
		acc += k
	}
	*sum = acc
	return i
}

// want reports whether the callback sees the string token tok.
func (sv *Sieve) want(tok []byte, k Kind, plain bool, sum uint64) bool {
	n := len(tok) - 2
	if !plain || n > sv.maxLen {
		return true
	}
	if sum&sv.any != 0 {
		for _, r := range sv.rules {
			if sum&r.Mask == r.Mask && n >= r.MinLen {
				return true
			}
		}
	}
	return k == Key && sv.named(tok)
}

// named reports whether the key token tok is one the sieve names.
func (sv *Sieve) named(tok []byte) bool {
	if !sv.first[tok[1]] {
		return false
	}
	for _, key := range sv.keys {
		if string(key) == string(tok) {
			return true
		}
	}
	return false
}

// An Allocator hands out the memory new bytes are written to: an Arena, or
// the memory the pipeline lends a batch (pipeline.Memory). Get returns an
// empty slice with room for at least n bytes; the caller appends to it and
// hands the result to Keep before the next Get, which returns it with its
// capacity clipped.
type Allocator interface {
	Get(n int) []byte
	Keep(b []byte) []byte
}

// Arena carves the new bytes of many events out of blocks of up to 32 KiB:
// one allocation per few dozen events rather than one or more per event,
// and no pointers for the garbage collector to scan. A block stays in memory while
// any slice of it does, which for a batch's events is the batch's lifetime.
// A nil *Arena allocates every slice on its own; an Arena without Init
// gives the first slice a block of its own and carves 4 KiB blocks after
// that. Not safe for concurrent use.
type Arena struct {
	block []byte
	size  int
	// Blocks, when set, hands out the blocks instead of make: a slice of
	// length 0 and capacity n or more (pipeline.Memory lends pooled ones).
	Blocks func(n int) []byte
}

// Init sets what the caller expects to need in all; blocks are cut from
// it up to maxBlock at a time.
func (a *Arena) Init(size int) { a.size = size }

// Get returns an empty slice with room for at least n bytes. Append to it,
// then hand the result to Keep before the next Get.
func (a *Arena) Get(n int) []byte {
	if a == nil {
		return make([]byte, 0, n)
	}
	if cap(a.block)-len(a.block) < n {
		if a.Blocks != nil {
			a.block = a.Blocks(n)
			return a.block
		}
		a.block = make([]byte, 0, max(n, min(a.size, maxBlock)))
		// What is still expected; past the estimate, small blocks.
		a.size = max(a.size-cap(a.block), 4096)
	}
	return a.block[len(a.block):len(a.block):cap(a.block)]
}

// Keep takes b, a slice from Get appended to, out of the free room and
// returns it with its capacity clipped, so that appending to it never
// writes into another slice. A b that outgrew its room was reallocated by
// append and is returned as it is.
func (a *Arena) Keep(b []byte) []byte {
	b = b[:len(b):len(b)]
	if a == nil || len(b) == 0 {
		return b
	}
	free := a.block[len(a.block):cap(a.block)]
	if len(b) <= len(free) && &free[0] == &b[0] {
		a.block = a.block[:len(a.block)+len(b)]
	}
	return b
}

// IsNumber reports whether s is exactly one JSON number literal: nothing
// around it, and not null or a quoted number (which json.Unmarshal into a
// json.Number accepts, and which a json.Number would then write out as an
// invalid literal).
func IsNumber(s string) bool {
	sc := scanner{b: []byte(s)}
	return sc.num() == nil && sc.i == len(s)
}

// Valid reports whether b is one JSON object this package accepts.
func Valid(b []byte) bool {
	s := scanner{b: b}
	s.ws()
	if s.i >= len(b) || b[s.i] != '{' {
		return false
	}
	return s.value(0, nil) == nil && s.end() == nil
}

// Members scans the object b and sets spans[j] to the position of the value
// of every member whose key is keys[j], or leaves it zero when there is
// none. With duplicate keys the last one wins, as with encoding/json; each
// also calls dup, when not nil, so that a caller that edits values can
// edit every copy. b must hold exactly one object (white space around it
// allowed); the whole object is validated.
func Members(b []byte, keys []string, spans []Span, dup func(j int, sp Span)) error {
	return members(scanner{b: b}, keys, spans, dup)
}

func members(s scanner, keys []string, spans []Span, dup func(j int, sp Span)) error {
	b := s.b
	s.ws()
	if s.i >= len(b) || b[s.i] != '{' {
		return ErrSyntax
	}
	s.i++
	s.ws()
	if s.i < len(b) && b[s.i] == '}' {
		s.i++
		return s.end()
	}
	var mbuf [8]int
	matched := mbuf[:0] // indexes into keys of the current member
	for {
		s.ws()
		kstart := s.i
		plain, err := s.str()
		if err != nil {
			return err
		}
		matched = matched[:0]
		key := b[kstart+1 : s.i-1]
		for j, k := range keys {
			if plain && string(key) == k || !plain && unquote(b[kstart:s.i]) == k {
				matched = append(matched, j)
			}
		}
		s.ws()
		if s.i >= len(b) || b[s.i] != ':' {
			return ErrSyntax
		}
		s.i++
		s.ws()
		vstart := s.i
		if err := s.value(1, nil); err != nil {
			return err
		}
		for _, j := range matched {
			if spans[j] != (Span{}) && dup != nil {
				dup(j, spans[j])
			}
			spans[j] = Span{vstart, s.i}
		}
		s.ws()
		if s.i >= len(b) {
			return ErrSyntax
		}
		switch b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return s.end()
		default:
			return ErrSyntax
		}
	}
}

// Each calls fn with the key and value position of every member of the
// object b, or with the index and value position of every element of the
// array b (key then empty). It returns ErrSyntax when b is neither.
func Each(b []byte, fn func(key string, index int, sp Span)) error {
	_, err := each(b, fn, "", nil)
	return err
}

// EachWithElements is Each for an object, one page of a list API, that
// also appends to elems the position of every element of the array that is
// the value of the member named list (of each such member: the caller
// tells duplicates by fn). It walks b once, where Each and then Each over
// the array would walk the array twice.
func EachWithElements(b []byte, list string, fn func(key string, sp Span), elems []Span) ([]Span, error) {
	if list == "" {
		return elems, ErrSyntax
	}
	return each(b, func(key string, _ int, sp Span) { fn(key, sp) }, list, elems)
}

// each is Each; with list not empty the elements of the array under that
// key are appended to elems.
func each(b []byte, fn func(key string, index int, sp Span), list string, elems []Span) ([]Span, error) {
	s := scanner{b: b}
	s.ws()
	if s.i >= len(b) {
		return elems, ErrSyntax
	}
	open := b[s.i]
	if open != '{' && (open != '[' || list != "") { // a page is an object
		return elems, ErrSyntax
	}
	close := byte('}')
	if open == '[' {
		close = ']'
	}
	s.i++
	s.ws()
	if s.i < len(b) && b[s.i] == close {
		s.i++
		return elems, s.end()
	}
	for n := 0; ; n++ {
		s.ws()
		var key string
		if open == '{' {
			kstart := s.i
			if _, err := s.str(); err != nil {
				return elems, err
			}
			key = unquote(b[kstart:s.i])
			s.ws()
			if s.i >= len(b) || b[s.i] != ':' {
				return elems, ErrSyntax
			}
			s.i++
			s.ws()
		}
		vstart := s.i
		var err error
		if list != "" && key == list && s.i < len(b) && b[s.i] == '[' {
			elems, err = s.elements(elems)
		} else {
			err = s.value(1, nil)
		}
		if err != nil {
			return elems, err
		}
		fn(key, n, Span{vstart, s.i})
		s.ws()
		if s.i >= len(b) {
			return elems, ErrSyntax
		}
		switch b[s.i] {
		case ',':
			s.i++
		case close:
			s.i++
			return elems, s.end()
		default:
			return elems, ErrSyntax
		}
	}
}

// elements scans the array at s.i, a member value of the top object, and
// appends the position of each of its elements to out.
func (s *scanner) elements(out []Span) ([]Span, error) {
	err := s.members(1, ']', func() error {
		s.ws()
		start := s.i
		err := s.value(2, nil)
		out = append(out, Span{start, s.i})
		return err
	})
	return out, err
}

// Str returns the string a string token holds; ok is false for any other
// value (nil included).
func Str(tok []byte) (s string, ok bool) {
	if len(tok) < 2 || tok[0] != '"' {
		return "", false
	}
	return unquote(tok), true
}

// unquote decodes a string token that the scanner accepted.
func unquote(tok []byte) string {
	in := tok[1 : len(tok)-1]
	plain := true
	for _, c := range in {
		if c == '\\' || c >= 0x80 {
			plain = false
			break
		}
	}
	if plain {
		return string(in)
	}
	var s string
	if json.Unmarshal(tok, &s) != nil {
		return ""
	}
	return s
}

// IsObject reports whether v is an object value.
func IsObject(v []byte) bool { return len(v) > 0 && v[0] == '{' }

// IsNull reports whether v is absent (nil) or the literal null.
func IsNull(v []byte) bool { return len(v) == 0 || string(v) == "null" }

// AppendString appends s (a string or bytes) as a JSON string the way
// encoding/json does with HTML escaping off: invalid UTF-8 becomes U+FFFD,
// U+2028 and U+2029 are escaped.
func AppendString[T ~string | ~[]byte](dst []byte, s T) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip the run of bytes written as they are, 8 at a time.
		for i+8 <= len(s) {
			m := special8(uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56)
			if m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(s) {
			break
		}
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendInsertMember appends to dst the object obj with the member key: val
// added after its last member; val must be encoded JSON. obj must be a
// valid object (Valid); it is not modified.
func AppendInsertMember(dst, obj []byte, key string, val []byte) []byte {
	end := len(obj) - 1
	for end >= 0 && obj[end] != '}' {
		end--
	}
	prev := end - 1
	for prev >= 0 && (obj[prev] == ' ' || obj[prev] == '\t' || obj[prev] == '\n' || obj[prev] == '\r') {
		prev--
	}
	dst = append(dst, obj[:end]...)
	if prev >= 0 && obj[prev] != '{' {
		dst = append(dst, ',')
	}
	dst = AppendString(dst, key)
	dst = append(dst, ':')
	dst = append(dst, val...)
	return append(dst, obj[end:]...)
}

// maxBlock keeps the blocks of an Arena within the allocator's size
// classes (32 KiB at most): larger ones are spans of their own, handed back
// to the operating system and faulted in again as batches come and go.
const maxBlock = 32 << 10
