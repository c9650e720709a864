package simkit

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestStreamsArePinned: the simulators' records, ids and fault sequences
// are these numbers; a change here changes every simulator's bytes.
func TestStreamsArePinned(t *testing.T) {
	r := NewRNG(42)
	got := []uint64{Mix(1), Hash(1, 2, 3), r.Next(), r.Next(), NewFeistel([4]uint64{1, 2, 3, 4}).Encode(7)}
	want := []uint64{6238072747940578789, 14811618279488048801, 10996452266160306281, 2958219263312191191, 12205059020239842744}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestFeistelDecodesWhatItEncodes(t *testing.T) {
	f := NewFeistel([4]uint64{Mix(1), Mix(2), Mix(3), Mix(4)})
	r := NewRNG(1)
	for range 10000 {
		x := r.Next()
		if f.Decode(f.Encode(x)) != x {
			t.Fatalf("%d does not come back", x)
		}
	}
}

func TestDraws(t *testing.T) {
	r := NewRNG(7)
	for range 10000 {
		if n := r.Between(3, 5); n < 3 || n > 5 {
			t.Fatalf("Between(3, 5) = %d", n)
		}
		if f := r.Float(); f < 0 || f >= 1 {
			t.Fatalf("Float() = %v", f)
		}
	}
	if s := string(r.AppendFrom([]byte("x"), "ab", 20)); len(s) != 21 || s[0] != 'x' || strings.Trim(s[1:], "ab") != "" {
		t.Fatalf("AppendFrom = %q", s)
	}
	if u := string(AppendUUID(nil, 0, math.MaxUint64)); u != "00000000-0000-4000-bfff-ffffffffffff" {
		t.Fatalf("AppendUUID = %s", u)
	}
	if h := string(AppendHex64(nil, 0xabc)); h != "0000000000000abc" {
		t.Fatalf("AppendHex64 = %s", h)
	}
}

// TestLatencyQuantiles: half the draws fall below the median and 99 in a
// hundred below P99.
func TestLatencyQuantiles(t *testing.T) {
	for _, l := range []Latency{{Median: 100 * time.Millisecond, P99: 2 * time.Second}, {Median: 10 * time.Millisecond}} {
		r := NewRNG(3)
		var below50, below99 int
		const n = 20000
		for range n {
			d := l.Sample(&r)
			if d <= l.Median {
				below50++
			}
			if d <= l.P99OrDefault() {
				below99++
			}
		}
		if math.Abs(float64(below50)/n-0.5) > 0.02 || math.Abs(float64(below99)/n-0.99) > 0.005 {
			t.Errorf("%+v: %d and %d of %d at or below the median and p99", l, below50, below99, n)
		}
	}
	if d := (Latency{}).Sample(&RNG{}); d != 0 {
		t.Errorf("the zero Latency waits %s", d)
	}
	c := Latency{Median: time.Second, P99: time.Second}
	if r := NewRNG(1); c.Sample(&r) != time.Second {
		t.Error("median equal to p99 is not a constant delay")
	}
}

func TestLatencyProblem(t *testing.T) {
	for l, want := range map[Latency]string{
		{}:                    "",
		{Median: time.Second}: "",
		{Median: -1}:          "median and p99 must be >= 0, got -1ns and 0s",
		{P99: time.Second}:    "p99 1s without a median",
		{Median: time.Second, P99: time.Millisecond}: "p99 1ms is below the median 1s",
	} {
		if got := l.Problem(); got != want {
			t.Errorf("%+v: %q, want %q", l, got, want)
		}
	}
}

func TestDrawFault(t *testing.T) {
	kinds := []string{"a", "b"}
	seen := map[string]int{}
	for i := range 10000 {
		k, _, ok := DrawFault(NewRNG(uint64(i)), 0.3, kinds)
		if ok {
			seen[k]++
		} else if k != "" {
			t.Fatalf("no fault, but kind %q", k)
		}
	}
	if n := seen["a"] + seen["b"]; n < 2800 || n > 3200 || seen["a"] < 1300 || seen["b"] < 1300 {
		t.Errorf("faults %v at rate 0.3 of 10000", seen)
	}
}

func TestJSONCommas(t *testing.T) {
	var w JSON
	w.Open()
	w.KStr("a", "x\"y")
	w.KInt("n", -3)
	w.Key("l")
	w.OpenArray()
	w.Str("s")
	w.Null()
	w.Bool(true)
	w.Open()
	w.Close()
	w.CloseArray()
	w.KNull("z")
	w.KRaw("r", []byte(`{"k":1}`))
	w.Close()
	w.B = append(w.B, '\n')
	w.Open()
	w.KBool("b", false)
	w.Close()
	want := `{"a":"x\"y","n":-3,"l":["s",null,true,{}],"z":null,"r":{"k":1}}` + "\n" + `{"b":false}`
	if string(w.B) != want {
		t.Fatalf("wrote\n%s\nwant\n%s", w.B, want)
	}
}

func TestTimelineFirstFrom(t *testing.T) {
	const start, span = int64(1e18), int64(24 * time.Hour)
	tl := NewTimeline(5000, start, span, 2, 0.6, 5, 1.3)
	prev := int64(math.MinInt64)
	for i := range int64(6000) {
		at := tl.Instant(i)
		if at < prev || (i < 5000 && (at < start || at >= start+span)) {
			t.Fatalf("instant %d = %d after %d", i, at, prev)
		}
		prev = at
		if c := tl.Count(at); c <= i || tl.Instant(c) <= at {
			t.Fatalf("Count(instant %d) = %d", i, c)
		}
	}
	if tl.Count(start-1) != 0 || tl.Count(start+span-1) != 5000 {
		t.Fatalf("Count before the start %d, at the end of the span %d", tl.Count(start-1), tl.Count(start+span-1))
	}
	sec := tl.Second(2500)
	if i := tl.FirstFrom(sec, 5000); i > 2500 || tl.Second(i) != sec || (i > 0 && tl.Second(i-1) >= sec) {
		t.Fatalf("FirstFrom(%d) = %d", sec, i)
	}
	if floorDiv(-1, 1e9) != -1 || floorDiv(1e9, 1e9) != 1 {
		t.Fatal("floorDiv does not floor")
	}
}

// t0 is a start of the timelines under test.
var t0 = time.Date(2026, 7, 9, 12, 0, 0, 0, time.UTC)

// TestTimelineIsMonotone: instants never decrease, the historical ones
// stay in [start, start+span), and Count agrees with Instant.
func TestTimelineIsMonotone(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		span time.Duration
		rate float64
	}{{1000, time.Hour, 0}, {200000, 90 * 24 * time.Hour, 3}, {50000, time.Second, 1000}, {10, 0, 0.5}} {
		tl := NewTimeline(tt.n, t0.UnixNano(), int64(tt.span), tt.rate, 0.7, 9, 2.5)
		prev := int64(-1 << 62)
		for i := int64(0); i < tt.n+1000; i++ {
			if i >= tt.n && tt.rate == 0 {
				break
			}
			v := tl.Instant(i)
			if v < prev {
				t.Fatalf("n=%d: instant(%d)=%d < instant(%d)=%d", tt.n, i, v, i-1, prev)
			}
			if i < tt.n && (v < t0.UnixNano() || (tt.span > 0 && v >= t0.UnixNano()+int64(tt.span))) {
				t.Fatalf("instant(%d) outside [start, start+span)", i)
			}
			prev = v
		}
		end := t0.UnixNano() + int64(tt.span)
		for _, now := range []int64{t0.UnixNano() - 1, t0.UnixNano(), end - 1, end, end + 1e9 + 7} {
			want := int64(0)
			for i := int64(0); i < tt.n+5000 && tl.Instant(i) <= now; i++ {
				want++
				if i >= tt.n-1 && tt.rate == 0 {
					break
				}
			}
			if got := tl.Count(now); got != want {
				t.Fatalf("n=%d: count(%d)=%d, want %d", tt.n, now-t0.UnixNano(), got, want)
			}
		}
	}
}
