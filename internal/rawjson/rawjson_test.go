package rawjson

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/bits"
	"reflect"
	"strings"
	"testing"
)

func decode(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return v
}

func TestValid(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{`{}`, true},
		{` {"a":[1,-2.5e+3,true,false,null,{"b":"\u00e9\n"}]} `, true},
		{`{"a":1}x`, false},
		{`{"a":01}`, false},
		{`{"a":"\x"}`, false},
		{"{\"a\":\"\x01\"}", false},
		{`{"a":1,}`, false},
		{`[1]`, false},
		{`{"a" 1}`, false},
		{`{"a":tru}`, false},
		{`{"a":"\u12"}`, false},
		{`{"a":-}`, false},
		{`{"a":1.}`, false},
		{strings.Repeat(`{"a":`, 1001) + "1" + strings.Repeat("}", 1001), false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Valid([]byte(tt.in)); got != tt.want {
				t.Fatalf("Valid(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestMembersAndLookup(t *testing.T) {
	obj := []byte(`{"a":{"b":{"c":"x\"y"}},"k":1,"k":"last","e\u0073c":true,"n":null}`)
	tests := []struct {
		path []string
		want string
	}{
		{[]string{"a", "b", "c"}, `"x\"y"`},
		{[]string{"k"}, `"last"`},
		{[]string{"esc"}, `true`},
		{[]string{"n"}, `null`},
		{[]string{"missing"}, ``},
		{[]string{"k", "x"}, ``},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.path, "/"), func(t *testing.T) {
			if got := Lookup(obj, tt.path...); string(got) != tt.want {
				t.Fatalf("Lookup(%v) = %s, want %s", tt.path, got, tt.want)
			}
		})
	}
	var dups []Span
	spans := make([]Span, 2)
	if err := Members(obj, []string{"k", "a"}, spans, func(j int, sp Span) { dups = append(dups, sp) }); err != nil {
		t.Fatal(err)
	}
	if len(dups) != 1 || string(obj[dups[0].Start:dups[0].End]) != "1" {
		t.Fatalf("duplicates: %v", dups)
	}
	if s, ok := Str(Lookup(obj, "a", "b", "c")); !ok || s != `x"y` {
		t.Fatalf("Str = %q %v", s, ok)
	}
}

func TestAppendInsertMember(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{}`, `{"k":1}`},
		{` { } `, ` { "k":1} `},
		{`{"a":2}`, `{"a":2,"k":1}`},
		{"{\"a\":2\n}\n", "{\"a\":2\n,\"k\":1}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := AppendInsertMember(nil, []byte(tt.in), "k", []byte("1")); string(got) != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// encodeStd is what encoding/json writes for s with HTML escaping off.
func encodeStd(s string) string {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	_ = e.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

func TestAppendString(t *testing.T) {
	cases := []string{"", "plain", "q\"b\\s", "\x00\x1f\b\f\n\r\t", "<&>", "é\u2028\u2029", "bad\xff\xfeutf8", "\xe2\x80"}
	// Long strings with one special byte or rune at every offset: the runs
	// of plain bytes are skipped 8 at a time.
	for _, sp := range []string{"\"", "\\", "\n", "\x00", "\x7f", "é", "\u2028", "\xff"} {
		for i := 0; i <= 20; i++ {
			cases = append(cases, strings.Repeat("a", i)+sp+strings.Repeat("b", 20-i))
		}
	}
	for _, s := range cases {
		t.Run(s, func(t *testing.T) {
			if got, want := string(AppendString(nil, s)), encodeStd(s); got != want {
				t.Fatalf("got %s, want %s", got, want)
			}
		})
	}
}

// FuzzRawJSON checks the package against encoding/json: the same objects
// are valid, Rewrite sees every string and number, AppendString agrees.
func FuzzRawJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,"x",{"b":null}],"c":"\u00e9"}`, `{"a":{"b":{"c":1}},"a":{"x":2},"k":{"a":3}}`, `{"a":1}x`, `{"a":"\ud800"}`, "{\"a\":\"\xff\"}",
		`{"a":{"named":1,"b":"x@y.io","c":"a value long enough for the memo to keep"},"b":[{"LONG":"LONG"},"padding padding padding padding"]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got := string(AppendString(nil, string(b))); got != encodeStd(string(b)) {
			t.Fatalf("AppendString(%q) = %s, want %s", b, got, encodeStd(string(b)))
		}
		trimmed := bytes.TrimLeft(b, " \t\r\n")
		std := json.Valid(b) && len(trimmed) > 0 && trimmed[0] == '{'
		if Valid(b) != std {
			if !std || !strings.Contains(string(b), strings.Repeat("{", 100)) && !strings.Contains(string(b), strings.Repeat("[", 100)) {
				t.Fatalf("Valid(%q) = %v, encoding/json says %v", b, !std, std)
			}
			return
		}
		if !std {
			if _, err := RewriteSieved(nil, b, nil, nil, func([]byte, Kind, bool, uint64) ([]byte, error) { return nil, nil }); err == nil {
				t.Fatalf("RewriteSieved accepted %q", b)
			}
			return
		}
		// Re-encoding every string and number through Str/AppendString
		// keeps the decoded value.
		out, err := RewriteSieved(nil, b, nil, nil, func(tok []byte, k Kind, plain bool, _ uint64) ([]byte, error) {
			if k == Number {
				return append([]byte(nil), tok...), nil
			}
			s, ok := Str(tok)
			if !ok {
				t.Fatalf("Str(%q) failed", tok)
			}
			if plain && s != string(tok[1:len(tok)-1]) {
				t.Fatalf("plain token %q decodes to %q", tok, s)
			}
			return AppendString(nil, s), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(decode(t, out), decode(t, b)) {
			t.Fatalf("Rewrite changed the value: %q -> %q", b, out)
		}
		// A Memo changes nothing but the work: the same document again
		// meets its own member values.
		docs := []string{string(b), string(b), `{"k":` + string(b) + `}`, string(b)}
		want, _, wantNamed := rewriteSeq(docs, nil)
		got, _, gotNamed := rewriteSeq(docs, new(Memo))
		if !reflect.DeepEqual(got, want) || gotNamed != wantNamed {
			t.Fatalf("with a memo %q (named %d), without %q (named %d)", got, gotNamed, want, wantNamed)
		}
		// Extract agrees with Lookup.
		paths := [][]string{{"a"}, {"a", "b"}, {"a", "b", "c"}, {"b"}, {"a"}, {"k", "a"}, {""}}
		spans := make([]Span, len(paths))
		if err := NewPaths(paths...).Extract(b, spans); err != nil {
			t.Fatal(err)
		}
		for i, p := range paths {
			var got []byte
			if spans[i] != (Span{}) {
				got = b[spans[i].Start:spans[i].End]
			}
			if want := Lookup(b, p...); string(got) != string(want) {
				t.Fatalf("Extract %v = %s, Lookup says %s", p, got, want)
			}
			// And with encoding/json, which keeps the last of duplicated
			// keys too.
			var want any = decode(t, b)
			for _, k := range p {
				m, _ := want.(map[string]any)
				want = m[k]
				if m == nil || want == nil {
					break
				}
			}
			if got == nil && want != nil || got != nil && !reflect.DeepEqual(decode(t, got), want) {
				t.Fatalf("Extract %v = %s, encoding/json says %v", p, got, want)
			}
		}
		// ExtractMemo agrees with Extract, the value met again too.
		var xm ExtractMemo
		for _, d := range [][]byte{b, b, []byte(`{"k":` + string(b) + `}`), b} {
			want := make([]Span, len(paths))
			errWant := NewPaths(paths...).Extract(d, want)
			got := make([]Span, len(paths))
			if errGot := NewPaths(paths...).ExtractMemo(d, got, &xm); (errGot == nil) != (errWant == nil) || !reflect.DeepEqual(got, want) {
				t.Fatalf("ExtractMemo(%q) = %v, %v; Extract: %v, %v", d, got, errGot, want, errWant)
			}
		}
		// Members finds every top-level key with its last value.
		m := decode(t, b).(map[string]any)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		spans = make([]Span, len(keys))
		if err := Members(b, keys, spans, nil); err != nil {
			t.Fatal(err)
		}
		for j, k := range keys {
			if got := decode(t, b[spans[j].Start:spans[j].End]); !reflect.DeepEqual(got, m[k]) {
				t.Fatalf("member %q = %v, want %v", k, got, m[k])
			}
		}
	})
}

// TestSpecial8: the lowest byte special8 marks is exactly the first byte
// that is not a plainByte, for every pair of byte values at every pair of
// positions (the borrows of the SWAR tests run upwards, so the bytes after
// the first special one are where a false mark could appear).
func TestSpecial8(t *testing.T) {
	for c1 := 0; c1 < 256; c1++ {
		for c2 := 0; c2 < 256; c2++ {
			for p1 := 0; p1 < 8; p1++ {
				for p2 := p1 + 1; p2 < 8; p2++ {
					w := []byte("abcdefgh")
					w[p1], w[p2] = byte(c1), byte(c2)
					want := 8
					for i, c := range w {
						if !plainByte[c] {
							want = i
							break
						}
					}
					got := 8
					if m := special8(binary.LittleEndian.Uint64(w)); m != 0 {
						got = bits.TrailingZeros64(m) >> 3
					}
					if got != want {
						t.Fatalf("word %q: first special byte %d, special8 says %d", w, want, got)
					}
				}
			}
		}
	}
	if special8(0x6867666564636261) != 0 {
		t.Fatal("plain word flagged")
	}
}

// TestArena: slices from an arena hold what was appended to them, never
// share room with another, and survive an append that outgrew the room.
func TestArena(t *testing.T) {
	cases := []struct {
		name  string
		arena *Arena
		sizes []int // bytes appended per slice; Get asks for 8
	}{
		{"nil arena", nil, []int{3, 8, 20}},
		{"zero arena", &Arena{}, []int{3, 8, 20, 1}},
		{"one block", func() *Arena { a := &Arena{}; a.Init(64); return a }(), []int{8, 8, 8}},
		{"outgrown room", func() *Arena { a := &Arena{}; a.Init(16); return a }(), []int{8, 30, 5, 5, 5}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got [][]byte
			for i, n := range tc.sizes {
				b := tc.arena.Get(8)
				if len(b) != 0 || cap(b) < 8 {
					t.Fatalf("Get(8) = len %d cap %d", len(b), cap(b))
				}
				for range n {
					b = append(b, byte('a'+i))
				}
				b = tc.arena.Keep(b)
				if cap(b) != len(b) {
					t.Fatalf("Keep left capacity %d > len %d", cap(b), len(b))
				}
				got = append(got, b)
			}
			for i := range got {
				got[i] = append(got[i], '!') // must not write into the next slice
			}
			for i, n := range tc.sizes {
				want := strings.Repeat(string(rune('a'+i)), n) + "!"
				if string(got[i]) != want {
					t.Fatalf("slice %d = %q, want %q", i, got[i], want)
				}
			}
		})
	}
}

// TestValidSpecialAtEveryOffset: a control byte, a quote, an escape or a
// non-ASCII byte at every offset of a long key and value is judged as
// encoding/json judges it (plain runs are skipped 8 bytes at a time).
func TestValidSpecialAtEveryOffset(t *testing.T) {
	for _, sp := range []string{"\x00", "\x1f", "\\n", "\\u00e9", "\\x", "é", "\xff", "\xe2\x80", "\"", "\x7f"} {
		for i := 0; i <= 20; i++ {
			str := strings.Repeat("a", i) + sp + strings.Repeat("b", 20-i)
			for _, doc := range []string{`{"` + str + `":1}`, `{"k":"` + str + `"}`} {
				if got, want := Valid([]byte(doc)), json.Valid([]byte(doc)); got != want {
					t.Fatalf("Valid(%q) = %v, encoding/json says %v", doc, got, want)
				}
			}
		}
	}
}

// TestIsNumber: only a bare JSON number literal is one; json.Unmarshal into
// a json.Number also takes null and quoted numbers, which would then be
// written out as invalid literals.
func TestIsNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "-1": true, "35.6762": true, "-74.006": true, "1e5": true, "2.5E-3": true, "701": true,
		"": false, "null": false, `"1"`: false, " 1": false, "1 ": false, "01": false, "1.": false, "-": false,
		"+1": false, ".5": false, "1e": false, "NaN": false, "0x10": false, "1,2": false,
	} {
		if got := IsNumber(s); got != want {
			t.Errorf("IsNumber(%q) = %v, want %v", s, got, want)
		}
	}
}

// Lookup returns the value at a path of keys in the object b (last
// duplicate wins), or nil when a key is missing or a step is not an
// object: the one-key-at-a-time answer Extract is held to.
func Lookup(b []byte, path ...string) []byte {
	for _, k := range path {
		keys, sp := [1]string{k}, [1]Span{}
		if members(scanner{b: b}, keys[:], sp[:], nil) != nil || sp[0] == (Span{}) {
			return nil
		}
		b = b[sp[0].Start:sp[0].End]
	}
	return b
}

// memoFn is a callback for the Memo tests: it replaces strings holding '@'
// by a short marker and strings holding LONG by a long one (so that the
// output outgrows the room Get gave it), fails on "boom", and counts the
// named key it is shown.
func memoFn(named *int) func(tok []byte, k Kind, plain bool, _ uint64) ([]byte, error) {
	return func(tok []byte, k Kind, plain bool, _ uint64) ([]byte, error) {
		switch {
		case k == Key && string(tok) == `"named"`:
			*named++
		case k == Key:
		case bytes.Contains(tok, []byte("boom")):
			return nil, errors.New("boom")
		case bytes.Contains(tok, []byte("LONG")):
			return []byte(`"` + strings.Repeat("L", 300) + `"`), nil
		case bytes.Contains(tok, []byte("@")):
			return []byte(`"[at]"`), nil
		}
		return nil, nil
	}
}

// everyToken is a sieve that hands the callback every token.
func everyToken(keys ...string) *Sieve {
	var table [256]uint64
	return NewSieve(&table, 1, 100, keys, SieveRule{})
}

// rewriteSeq runs docs through RewriteSieved in turn, with m (nil: none),
// and reports each output or error, the callback's calls and the named
// keys it saw.
func rewriteSeq(docs []string, m *Memo) (outs []string, calls, named int) {
	var a Arena
	a.Init(256) // small blocks: a walk that fails leaves room the next reuses
	fn := memoFn(&named)
	count := func(tok []byte, k Kind, plain bool, sum uint64) ([]byte, error) {
		calls++
		return fn(tok, k, plain, sum)
	}
	for _, d := range docs {
		out, err := RewriteSieved(&a, []byte(d), everyToken("named"), m, count)
		if err != nil {
			outs = append(outs, "error: "+err.Error())
			continue
		}
		outs = append(outs, string(out))
	}
	return outs, calls, named
}

// TestRewriteMemo: with a Memo, RewriteSieved answers exactly as without
// one (a value remembered after a failed walk, a named key inside a value
// or a result cut from an output that was reallocated would each show),
// and it does skip the callback for values met before.
func TestRewriteMemo(t *testing.T) {
	actor := `{"type":"session","session":{"user":{"id":"user-1","email":"ada@example.com"},"ip":"203.0.113.9"}}`
	long := `{"type":"session","session":{"user":{"id":"user-2","note":"LONG","more":"LONG"},"ip":"203.0.113.9"}}`
	samePrefix := `{"type":"session","session":{"user":{"id":"user-1","email":"ada@example.com"},"ip":"198.51.100.7"}}`
	withNamed := `{"type":"session","session":{"named":"x","user":{"id":"user-3","email":"bob@example.com"}}}`
	failing := `{"type":"session","session":{"user":{"id":"user-4","email":"eve@example.com"},"ip":"boom"}}`
	unchanged := `{"type":"service_account","service_account":{"id":"svc-1","name":"ci pipeline runner"}}`
	fresh := `{"type":"session","session":{"user":{"id":"user-5","email":"mal@example.com"},"ip":"192.0.2.1"}}`
	freshLong := `{"type":"session","session":{"user":{"id":"user-6","email":"LONG@example.com"},"ip":"192.0.2.2"}}`
	arr := `["ada@example.com","plain value that is long enough to be remembered", {"x": 1}]`
	doc := func(id, actor string) string {
		return `{"id":"` + id + `","x":"a@b.io","actor":` + actor + `,"n":1}`
	}
	docs := []string{
		doc("1", actor), doc("2", actor), doc("3", samePrefix), doc("4", actor),
		doc("5", long), doc("6", long), doc("7", withNamed), doc("8", withNamed),
		doc("9", failing), doc("10", failing), doc("11", unchanged), doc("12", unchanged),
		doc("13", arr), doc("14", arr), doc("15", samePrefix), doc("16", long),
		`{"actor":` + actor + `}`, `{"z":` + actor + `,"actor":` + long + `}`,
		// A value walked before the walk fails is not remembered.
		`{"actor":` + fresh + `,"z":"boom"}`, `{"actor":` + fresh + `}`,
		// Nor is a result cut from room that a reallocated output left.
		`{"actor":` + freshLong + `,"z":"LONG"}`, `{"z":"x@y.io","actor":` + freshLong + `}`,
	}
	want, callsWithout, namedWithout := rewriteSeq(docs, nil)
	var m Memo
	got, callsWith, namedWith := rewriteSeq(docs, &m)
	for i := range docs {
		if got[i] != want[i] {
			t.Errorf("doc %d: with a memo\n%s\nwithout\n%s", i+1, got[i], want[i])
		}
	}
	if namedWith != namedWithout {
		t.Errorf("the callback saw the named key %d times with a memo, %d without", namedWith, namedWithout)
	}
	if callsWith >= callsWithout {
		t.Errorf("the memo spared no call: %d with it, %d without", callsWith, callsWithout)
	}
	for _, w := range want[8:10] {
		if !strings.HasPrefix(w, "error") {
			t.Fatalf("the failing value did not fail: %s", w)
		}
	}
}

// TestExtractMemo: ExtractMemo gives the spans Extract gives, through Paths
// whose actor nodes have the same shape (which share entries) and one whose
// shape differs (which must not), and it does take spans from its entries.
func TestExtractMemo(t *testing.T) {
	static := [][]string{{"type"}, {"actor", "type"}, {"actor", "session", "user", "id"}, {"actor", "api_key", "id"}, {"actor", "api_key", "user"}}
	shapes := []*Paths{
		NewPaths(append(static, []string{"a.b", "id"})...),
		NewPaths(append(static, []string{"c.d", "id"})...),
		NewPaths(append(static[:3:3], []string{"actor", "api_key", "service_account", "id"}, []string{"actor", "session", "ip"})...),
	}
	session := `{"type":"session","session":{"user":{"id":"user-1","email":"ada@example.com"},"ip":"203.0.113.9"}}`
	apiKey := `{"type":"api_key","api_key":{"id":"key-1","user":{"id":"user-2"},"service_account":{"id":"svc-1"}},"pad":"................"}`
	samePrefix := `{"type":"session","session":{"user":{"id":"user-1","email":"ada@example.com"},"ip":"198.51.100.77"}}`
	docs := []string{
		`{"type":"a.b","actor":` + session + `,"a.b":{"id":"x"}}`,
		`{"type":"c.d","actor":` + session + `}`,
		`{"actor":` + session + `,"type":"c.d","c.d":{"id":"y"}}`,
		`{"actor":` + samePrefix + `}`,
		`{"actor":` + apiKey + `}`,
		`{"actor":` + apiKey + `,"actor":` + session + `}`,
		`{"actor":` + session + `,"actor":{"type":"other"}}`,
		`{"actor":` + session + `,"broken":}`,
		`{"x":1,"actor":` + apiKey + `}`,
		`{"actor":"` + strings.Repeat("s", 80) + `"}`,
	}
	var m ExtractMemo
	for round := 0; round < 2; round++ {
		for _, p := range shapes {
			for _, d := range docs {
				want := make([]Span, 6)
				errWant := p.Extract([]byte(d), want)
				got := make([]Span, 6)
				errGot := p.ExtractMemo([]byte(d), got, &m)
				if (errGot == nil) != (errWant == nil) || !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: with the memo %v (%v), without %v (%v)", d, got, errGot, want, errWant)
				}
			}
		}
	}
	if m.hits == 0 {
		t.Fatal("the memo never served a value")
	}
}
