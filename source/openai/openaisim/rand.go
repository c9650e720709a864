package openaisim

import (
	"strconv"
)

// mix is the splitmix64 finalizer: a cheap, well distributed 64-bit hash.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// rng is a splitmix64 stream. It is a value type so that a per-event stream
// costs no allocation.
type rng struct{ s uint64 }

func newRNG(seed uint64) rng { return rng{s: mix(seed + 0x9e3779b97f4a7c15)} }

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
	hexLower = "0123456789abcdef"
)

// appendAlnum appends n base62 characters drawn from r.
func (r *rng) appendAlnum(b []byte, n int) []byte {
	for n > 0 {
		x := r.next()
		for j := 0; j < 10 && n > 0; j++ {
			b = append(b, alnum[x%62])
			x /= 62
			n--
		}
	}
	return b
}

// appendHex appends n lower-case hex characters drawn from r.
func (r *rng) appendHex(b []byte, n int) []byte {
	for n > 0 {
		x := r.next()
		for j := 0; j < 16 && n > 0; j++ {
			b = append(b, hexLower[x&15])
			x >>= 4
			n--
		}
	}
	return b
}

// appendAlnumOf appends n base62 characters derived from x alone (no
// stream), so a resource id can be recomputed from an event's metadata.
func appendAlnumOf(b []byte, x uint64, n int) []byte {
	for i := 0; i < n; i++ {
		if i%10 == 0 && i > 0 {
			x = mix(x)
		}
		b = append(b, alnum[x%62])
		x /= 62
	}
	return b
}

func appendHex64(b []byte, x uint64) []byte {
	for sh := 60; sh >= 0; sh -= 4 {
		b = append(b, hexLower[(x>>uint(sh))&15])
	}
	return b
}

func parseHex64(s string) (uint64, bool) {
	if len(s) != 16 {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 16, 64)
	return v, err == nil
}

// feistel is a keyed permutation of uint64: ids are feistel(index), so an id
// is unique, looks random and decodes back to its index without a table.
type feistel struct{ k [4]uint64 }

func newFeistel(seed uint64) feistel {
	var f feistel
	for i := range f.k {
		seed = mix(seed + uint64(i) + 1)
		f.k[i] = seed
	}
	return f
}

func (f feistel) round(x uint32, i int) uint32 { return uint32(mix(uint64(x) ^ f.k[i])) }

func (f feistel) enc(x uint64) uint64 {
	l, r := uint32(x>>32), uint32(x)
	for i := 0; i < 4; i++ {
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
