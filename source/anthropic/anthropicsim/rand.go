package anthropicsim

// mix is the splitmix64 finalizer: a cheap, well distributed 64-bit hash.
// Everything the simulator writes is derived from mix of the seed and the
// index of an activity, so any activity can be rendered on its own, in any
// order, and always gives the same bytes.
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

// hashString folds s into a number, to key a pool of ids by their prefix.
func hashString(s string) uint64 {
	h := uint64(0xcbf29ce484222325) // FNV-1a
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 0x100000001b3
	}
	return h
}

// rng is a splitmix64 stream; a value type, so a per-activity stream costs
// no allocation.
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
	// base62 is in ASCII order, so that numbers written in it with a fixed
	// width sort as strings the way they sort as numbers.
	base62   = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	hexLower = "0123456789abcdef"
)

// appendFrom appends n characters of set drawn from r.
func (r *rng) appendFrom(b []byte, set string, n int) []byte {
	for range n {
		b = append(b, set[r.intn(len(set))])
	}
	return b
}

// appendBase62 appends x in base 62 with exactly width digits (the high
// digits of a larger x are dropped).
func appendBase62(b []byte, x uint64, width int) []byte {
	n := len(b)
	for range width {
		b = append(b, 0)
	}
	for i := len(b) - 1; i >= n; i-- {
		b[i] = base62[x%62]
		x /= 62
	}
	return b
}

// parseBase62 reads a fixed-width base-62 number.
func parseBase62(s string) (uint64, bool) {
	var x uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d uint64
		switch {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case c >= 'A' && c <= 'Z':
			d = uint64(c-'A') + 10
		case c >= 'a' && c <= 'z':
			d = uint64(c-'a') + 36
		default:
			return 0, false
		}
		x = x*62 + d
	}
	return x, true
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
