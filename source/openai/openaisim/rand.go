package openaisim

import (
	"strconv"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
)

// newRNG starts the stream of seed. This simulator's streams have always
// started at simkit.Mix(seed + the golden increment): kept so that its
// records stay byte for byte what they were.
func newRNG(seed uint64) simkit.RNG { return simkit.NewRNG(seed + 0x9e3779b97f4a7c15) }

const (
	alnum    = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	hexLower = "0123456789abcdef"
)

// appendAlnum appends n base62 characters drawn from r.
func appendAlnum(r *simkit.RNG, b []byte, n int) []byte {
	for n > 0 {
		x := r.Next()
		for j := 0; j < 10 && n > 0; j++ {
			b = append(b, alnum[x%62])
			x /= 62
			n--
		}
	}
	return b
}

// appendHex appends n lower-case hex characters drawn from r.
func appendHex(r *simkit.RNG, b []byte, n int) []byte {
	for n > 0 {
		x := r.Next()
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
			x = simkit.Mix(x)
		}
		b = append(b, alnum[x%62])
		x /= 62
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

// newFeistel is the permutation of record ids: ids are newFeistel(seed)
// of the index, so an id is unique, looks random and decodes back to its
// index without a table.
func newFeistel(seed uint64) simkit.Feistel {
	var k [4]uint64
	for i := range k {
		seed = simkit.Mix(seed + uint64(i) + 1)
		k[i] = seed
	}
	return simkit.NewFeistel(k)
}
