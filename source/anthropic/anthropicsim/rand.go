package anthropicsim

// Everything the simulator writes is derived from simkit.Mix of the seed
// and the index of an activity, so any activity can be rendered on its
// own, in any order, and always gives the same bytes.

// hashString folds s into a number, to key a pool of ids by their prefix.
func hashString(s string) uint64 {
	h := uint64(0xcbf29ce484222325) // FNV-1a
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 0x100000001b3
	}
	return h
}

// base62 is in ASCII order, so that numbers written in it with a fixed
// width sort as strings the way they sort as numbers.
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

const hexLower = "0123456789abcdef"

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
