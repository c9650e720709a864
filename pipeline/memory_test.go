package pipeline_test

import (
	"strings"
	"testing"

	"github.com/auditrelay/auditrelay/pipeline"
)

func TestMemoryGetKeep(t *testing.T) {
	for _, m := range []*pipeline.Memory{nil, new(pipeline.Memory)} {
		var got [][]byte
		var want []string
		for i, n := range []int{8, 30000, 5000, 1, 40000, 0, 20} {
			b := m.Get(n)
			if cap(b) < n || len(b) != 0 {
				t.Fatalf("Get(%d): len %d cap %d", n, len(b), cap(b))
			}
			s := strings.Repeat(string(rune('a'+i)), n+i%2) // one more than asked: the room may be outgrown
			b = m.Keep(append(b, s...))
			if cap(b) != len(b) {
				t.Fatalf("Keep left capacity %d past %d", cap(b), len(b))
			}
			got, want = append(got, b), append(want, s)
		}
		for i := range got {
			if string(got[i]) != want[i] {
				t.Fatalf("slice %d changed: %.20q..., want %.20q...", i, got[i], want[i])
			}
		}
	}
}
