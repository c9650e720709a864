package chatgptsim

import "github.com/auditrelay/auditrelay/source/internal/simkit"

// Everything the simulator writes is derived from simkit.Mix of the seed
// and the coordinates of a thing (type, slot, file, line), so any line can
// be rendered on its own, in any order, and always gives the same bytes.

const (
	alnum    = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	upperNum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	hexLower = "0123456789abcdef"
)

// newFeistel is the permutation of file ids: a file id is its
// coordinates permuted, so ids look random, are unique, and decode back to
// the file without a table.
func newFeistel(seed uint64) simkit.Feistel {
	var k [4]uint64
	for i := range k {
		k[i] = simkit.Hash(seed, uint64(i), 0xfe15)
	}
	return simkit.NewFeistel(k)
}
