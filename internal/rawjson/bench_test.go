package rawjson

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

func corpus(b *testing.B) [][]byte {
	data, err := os.ReadFile("../../transform/testdata/events.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	return out
}

func benchEvents(b *testing.B, f func([]byte)) {
	evs := corpus(b)
	n := 0
	for _, e := range evs {
		n += len(e)
	}
	b.SetBytes(int64(n))
	for b.Loop() {
		for _, e := range evs {
			f(e)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
}

// BenchmarkValid is the cost of one validating pass over an event, the
// floor of the byte paths of enrich and redact.
func BenchmarkValid(b *testing.B) { benchEvents(b, func(e []byte) { Valid(e) }) }

// BenchmarkStdValid is encoding/json's validation, for comparison.
func BenchmarkStdValid(b *testing.B) { benchEvents(b, func(e []byte) { json.Valid(e) }) }

// BenchmarkStdDecode is what Event.Object costs.
func BenchmarkStdDecode(b *testing.B) {
	benchEvents(b, func(e []byte) {
		var m map[string]any
		_ = json.Unmarshal(e, &m)
	})
}
