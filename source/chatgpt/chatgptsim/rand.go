package chatgptsim

// mix is the splitmix64 finalizer: a cheap, well distributed 64-bit hash.
// Everything the simulator writes is derived from mix of the seed and the
// coordinates of a thing (type, slot, file, line), so any line can be
// rendered on its own, in any order, and always gives the same bytes.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hash combines values into one well mixed number.
func hash(xs ...uint64) uint64 {
	h := uint64(0x243f6a8885a308d3)
	for _, x := range xs {
		h = mix(h ^ x + 0x9e3779b97f4a7c15)
	}
	return h
}

// rng is a splitmix64 stream; a value type, so a per-line stream costs no
// allocation.
type rng struct{ s uint64 }

func newRNG(seed uint64) rng { return rng{s: mix(seed)} }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix(r.s)
}

// intn returns a number in [0, n); n must be > 0.
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// between returns a number in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

func (r *rng) chance(p float64) bool { return r.float() < p }

func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }

const (
	alnum    = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	upperNum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	hexLower = "0123456789abcdef"
)

// appendFrom appends n characters of set drawn from r.
func (r *rng) appendFrom(b []byte, set string, n int) []byte {
	for range n {
		b = append(b, set[r.intn(len(set))])
	}
	return b
}

// appendUUID appends a version 4 UUID made of the 128 bits hi and lo.
func appendUUID(b []byte, hi, lo uint64) []byte {
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

func appendHex64(b []byte, x uint64) []byte {
	for sh := 60; sh >= 0; sh -= 4 {
		b = append(b, hexLower[(x>>uint(sh))&15])
	}
	return b
}

// feistel is a keyed permutation of uint64: a file id is feistel(its
// coordinates), so ids look random, are unique, and decode back to the
// file without a table.
type feistel struct{ k [4]uint64 }

func newFeistel(seed uint64) feistel {
	var f feistel
	for i := range f.k {
		f.k[i] = hash(seed, uint64(i), 0xfe15)
	}
	return f
}

func (f feistel) round(x uint32, i int) uint32 { return uint32(mix(uint64(x) ^ f.k[i])) }

func (f feistel) enc(x uint64) uint64 {
	l, r := uint32(x>>32), uint32(x)
	for i := range 4 {
		l, r = r, l^f.round(r, i)
	}
	return uint64(l)<<32 | uint64(r)
}

func (f feistel) dec(x uint64) uint64 {
	l, r := uint32(x>>32), uint32(x)
	for i := 3; i >= 0; i-- {
		l, r = r^f.round(l, i), l
	}
	return uint64(l)<<32 | uint64(r)
}
