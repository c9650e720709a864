package decoded

import (
	"encoding/json"
	"testing"
)

func TestReaders(t *testing.T) {
	m := map[string]any{"o": map[string]any{"a": "b"}, "s": "x", "n": json.Number("42"), "f": json.Number("1.9"),
		"big": json.Number("1e300"), "flt": 7.5, "neg": json.Number("-3")}
	if Obj(m, "o")["a"] != "b" || Obj(m, "s") != nil || Obj(m, "none") != nil {
		t.Fatal("Obj")
	}
	if Str(m, "s") != "x" || Str(m, "n") != "42" || Str(m, "o") != "" {
		t.Fatal("Str")
	}
	for k, want := range map[string]int64{"n": 42, "f": 1, "big": 0, "flt": 7, "neg": -3, "s": 0, "none": 0} {
		if got := Num(m, k); got != want {
			t.Errorf("Num(%s) = %d, want %d", k, got, want)
		}
	}
}
