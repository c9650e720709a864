// Package simkit is what the project's API simulators (openaisim,
// chatgptsim, anthropicsim) share: seeded randomness that renders any
// record on its own and always to the same bytes, the log-normal latency
// of an answer, the seeded draw of a fault, the waits and the dropped
// connection those call for, a JSON writer without reflection, the
// timeline that spreads records over a period, and the HTTP plumbing
// around the answers (serving, counting statuses). Each simulator keeps
// what is its vendor's: the shapes, the routes, the fault kinds, the
// errors.
package simkit

import "sort"

// Mix is the splitmix64 finalizer: a cheap, well distributed 64-bit hash.
// A simulator derives everything it writes from Mix of its seed and the
// coordinates of a thing (an index, a type, a file), so that any record
// can be rendered on its own, in any order, and always gives the same
// bytes.
func Mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// golden is splitmix64's increment, 2^64 over the golden ratio.
const golden = 0x9e3779b97f4a7c15

// Hash combines values into one well mixed number.
func Hash(xs ...uint64) uint64 {
	h := uint64(0x243f6a8885a308d3)
	for _, x := range xs {
		h = Mix(h ^ x + golden)
	}
	return h
}

// RNG is a splitmix64 stream. It is a value type, so that a stream per
// record costs no allocation.
type RNG struct{ s uint64 }

// NewRNG starts a stream at Mix(seed).
func NewRNG(seed uint64) RNG { return RNG{s: Mix(seed)} }

// Next is the stream's next number.
func (r *RNG) Next() uint64 {
	r.s += golden
	return Mix(r.s)
}

// Intn returns a number in [0, n); n must be > 0.
func (r *RNG) Intn(n int) int { return int(r.Next() % uint64(n)) }

// Between returns a number in [lo, hi].
func (r *RNG) Between(lo, hi int) int { return lo + r.Intn(hi-lo+1) }

// Float returns a number in [0, 1).
func (r *RNG) Float() float64 { return float64(r.Next()>>11) / (1 << 53) }

// Chance reports true with probability p.
func (r *RNG) Chance(p float64) bool { return r.Float() < p }

// Pick returns one of xs, which must not be empty.
func Pick[T any](r *RNG, xs []T) T { return xs[r.Intn(len(xs))] }

// Weights picks an index with probability proportional to its weight,
// from one draw. The zero value holds no index; Add appends one.
type Weights struct{ cum []uint64 } // cum[i] is the sum of the weights of 0..i

// Add appends an index of weight w (>= 0; at least one must be > 0).
func (ws *Weights) Add(w int) {
	var sum uint64
	if n := len(ws.cum); n > 0 {
		sum = ws.cum[n-1]
	}
	ws.cum = append(ws.cum, sum+uint64(w))
}

// Pick turns the draw x into an index.
func (ws Weights) Pick(x uint64) int {
	v := x % ws.cum[len(ws.cum)-1]
	return sort.Search(len(ws.cum), func(i int) bool { return ws.cum[i] > v })
}

// AppendFrom appends n characters of set drawn from r.
func (r *RNG) AppendFrom(b []byte, set string, n int) []byte {
	for range n {
		b = append(b, set[r.Intn(len(set))])
	}
	return b
}

const hexLower = "0123456789abcdef"

// AppendHex64 appends x as 16 lower-case hex digits.
func AppendHex64(b []byte, x uint64) []byte {
	for sh := 60; sh >= 0; sh -= 4 {
		b = append(b, hexLower[(x>>uint(sh))&15])
	}
	return b
}

// AppendUUID appends a version 4 UUID made of the 128 bits hi and lo.
func AppendUUID(b []byte, hi, lo uint64) []byte {
	hi = hi&^0xf000 | 0x4000     // version 4
	lo = lo&^(0xc<<60) | 0x8<<60 // RFC 4122 variant
	for i, x := range [2]uint64{hi, lo} {
		for sh := 60; sh >= 0; sh -= 4 {
			n := 15 - sh/4 + 16*i // hex digit index, 0..31
			if n == 8 || n == 12 || n == 16 || n == 20 {
				b = append(b, '-')
			}
			b = append(b, hexLower[(x>>uint(sh))&15])
		}
	}
	return b
}

// Feistel is a keyed permutation of uint64: a simulator that makes an id
// of Encode(index) gets ids that are unique, look random and decode back
// to their index without a table.
type Feistel struct{ k [4]uint64 }

// NewFeistel is the permutation of the four round keys k (each simulator
// derives them from its seed in its own way).
func NewFeistel(k [4]uint64) Feistel { return Feistel{k: k} }

func (f Feistel) round(x uint32, i int) uint32 { return uint32(Mix(uint64(x) ^ f.k[i])) }

// Encode permutes x.
func (f Feistel) Encode(x uint64) uint64 {
	l, r := uint32(x>>32), uint32(x)
	for i := range 4 {
		l, r = r, l^f.round(r, i)
	}
	return uint64(l)<<32 | uint64(r)
}

// Decode is Encode's inverse.
func (f Feistel) Decode(x uint64) uint64 {
	l, r := uint32(x>>32), uint32(x)
	for i := 3; i >= 0; i-- {
		l, r = r^f.round(l, i), l
	}
	return uint64(l)<<32 | uint64(r)
}
