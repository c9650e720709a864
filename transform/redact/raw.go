package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"hash/maphash"
	"slices"
	"strconv"

	"github.com/auditrelay/auditrelay/internal/rawjson"
	"github.com/auditrelay/auditrelay/pipeline"
)

// The raw path redacts an event by editing its encoded bytes: the tokens
// that change are replaced, everything else (key order, spacing, number
// spelling) stays as the provider sent it, and an event with nothing to
// redact keeps its Raw untouched. Whatever it does not handle itself
// (malformed JSON, duplicate content keys, a key that holds a match,
// overlapping field paths, whole values removed in remove mode) makes it
// give up before changing anything, and the event goes through the decoded
// object instead, which has the last word on every such case.

// errFallback stops the raw path.
var errFallback = errors.New("redact: event needs the decoded object")

// edit is a value redacted whole (request content, a field path).
type edit struct {
	rawjson.Span
	kind string
}

// rawBufs are the buffers the raw path reuses across the events of a batch.
type rawBufs struct {
	out  *pipeline.Memory // the new bytes of the events
	tok  []byte           // one replaced token at a time: Rewrite copies it
	memo scanMemo
	sub  rawjson.Memo // member values met before (actors, annotations)
}

// putBufs keeps bufs for another batch, holding nothing of this one: the
// memos point into the batch's bytes, which are not the next batch's.
func (r *Redactor) putBufs(bufs *rawBufs) {
	bufs.out = nil
	clear(bufs.memo.slots[:])
	bufs.sub.Reset()
	r.bufs.Put(bufs)
}

// scanMemo remembers what scanning the strings of a batch gave: the values
// that reach the scan (addresses, e-mail addresses, user agents, ids that
// look like keys) come back from event to event, and a hit costs a hash and
// a comparison where a miss costs the hints and, for a candidate, a lookup
// in the shared cache under its lock. A slot holds the bytes themselves (a
// slice of an event of the batch, never modified), so a hit is an exact
// match. Not safe for concurrent use: one per batch.
type scanMemo struct {
	seed  maphash.Seed
	slots [1024]memoSlot
}

type memoSlot struct {
	s       []byte
	out     string
	changed bool
}

// find returns the slot for b and whether it holds b's result.
func (m *scanMemo) find(b []byte) (*memoSlot, bool) {
	m.init()
	slot := &m.slots[maphash.Bytes(m.seed, b)%uint64(len(m.slots))]
	return slot, slot.s != nil && bytes.Equal(slot.s, b)
}

// findString is find for a string (the same hash as for its bytes).
func (m *scanMemo) findString(s string) (*memoSlot, bool) {
	m.init()
	slot := &m.slots[maphash.String(m.seed, s)%uint64(len(m.slots))]
	return slot, slot.s != nil && string(slot.s) == s
}

func (m *scanMemo) init() {
	if m.seed == (maphash.Seed{}) {
		m.seed = maphash.MakeSeed()
	}
}

// eventRaw redacts e through its bytes; false means that it changed nothing
// and the event needs the object path.
func (r *Redactor) eventRaw(e *pipeline.Event, bufs *rawBufs) bool {
	// A request log carries its content under api_request: start with the
	// whole values rather than find the key and scan again.
	whole := r.wholeFirst || r.content != ContentNone && e.Schema == "openai.organization_log"
	raw, ok := r.redactRaw(e.Raw, whole, bufs)
	if !ok {
		return false
	}
	if len(r.patterns) > 0 && e.ActorEmail != "" {
		// Most often the same value was just scanned in the event itself.
		if slot, ok := bufs.memo.findString(e.ActorEmail); ok {
			if slot.changed {
				e.ActorEmail = slot.out
			}
		} else if s, ok := r.scan(e.ActorEmail); ok {
			e.ActorEmail = s
		}
	}
	if len(raw) != len(e.Raw) || &raw[0] != &e.Raw[0] {
		e.SetRaw(raw)
	}
	return true
}

// redactRaw redacts raw. Whole values (request content, field paths) go
// first: their markers measure and hash the original. Most events have
// none, so unless whole is set the pattern pass runs first and watches for
// the keys whole values hang under; only when it sees one does it start
// again with whole set.
func (r *Redactor) redactRaw(raw []byte, whole bool, bufs *rawBufs) ([]byte, bool) {
	var edits []edit
	if whole {
		var err error
		if edits, err = r.wholeValues(raw); err != nil {
			return nil, false
		}
		if len(edits) > 0 {
			if r.mode == ModeRemove {
				return nil, false
			}
			if raw, err = r.applyEdits(raw, edits); err != nil {
				return nil, false
			}
		}
		if len(r.patterns) == 0 {
			return raw, len(edits) > 0 || rawjson.Valid(raw) // the object path reports errors
		}
	}
	sawKey := false
	out, err := rawjson.RewriteSieved(bufs.out, raw, r.sieve, &bufs.sub, func(tok []byte, k rawjson.Kind, plain bool, sum uint64) ([]byte, error) {
		if !whole && k == rawjson.Key && r.wholeKey(tok, plain) {
			sawKey = true
		}
		rep, err := r.rewriteToken(bufs.tok[:0], tok, k, plain, sum, &bufs.memo)
		if rep != nil {
			bufs.tok = rep
		}
		return rep, err
	})
	switch {
	case sawKey:
		return r.redactRaw(raw, true, bufs)
	case err != nil:
		return nil, false
	}
	return out, true
}

// wholeKey reports whether a key token is one that whole values hang under
// (api_request, the first key of a field path), at any depth.
func (r *Redactor) wholeKey(tok []byte, plain bool) bool {
	if plain && !r.wholeFirstByte[tok[1]] {
		return false
	}
	for _, k := range r.wholeKeys {
		if plain && string(tok) == string(k) {
			return true
		}
	}
	if !plain {
		s, _ := rawjson.Str(tok)
		for _, k := range r.wholeKeys {
			if u, _ := rawjson.Str(k); u == s {
				return true
			}
		}
	}
	return false
}

var contentKeys = []string{"prompt_truncated", "response_body_truncated", "prompt", "messages", "input", "response"}

// wholeValues finds the request content and field-path values to redact,
// ordered by position; overlapping ones need the object path.
func (r *Redactor) wholeValues(raw []byte) ([]edit, error) {
	var edits []edit
	if r.content != ContentNone {
		var top [1]rawjson.Span
		dup := false
		if err := rawjson.Members(raw, []string{"api_request"}, top[:], func(int, rawjson.Span) { dup = true }); err != nil {
			return nil, err
		}
		if dup {
			return nil, errFallback
		}
		if req := raw[top[0].Start:top[0].End]; rawjson.IsObject(req) {
			var sp [6]rawjson.Span
			if err := rawjson.Members(req, contentKeys, sp[:], func(int, rawjson.Span) { dup = true }); err != nil {
				return nil, err
			}
			if dup {
				return nil, errFallback
			}
			val := func(j int) []byte { return req[sp[j].Start:sp[j].End] }
			all := r.content == ContentAll
			add := func(j int) {
				if v := val(j); !rawjson.IsNull(v) && !isMarkerToken(v) {
					edits = append(edits, edit{rawjson.Span{Start: top[0].Start + sp[j].Start, End: top[0].Start + sp[j].End}, contentKeys[j]})
				}
			}
			if all || string(val(0)) == "true" {
				add(2)
				add(3)
				add(4)
			}
			if all || string(val(1)) == "true" {
				add(5)
			}
		}
	}
	for _, segs := range r.fields {
		if err := collectPath(raw, rawjson.Span{End: len(raw)}, segs, &edits); err != nil {
			return nil, err
		}
	}
	if len(edits) < 2 {
		return edits, nil
	}
	slices.SortFunc(edits, func(a, b edit) int { return a.Start - b.Start })
	for i := 1; i < len(edits); i++ {
		if edits[i].Start < edits[i-1].End {
			return nil, errFallback
		}
	}
	return edits, nil
}

// collectPath adds the values at the JSON pointer segs under the value at
// v; "*" matches any key or index. Every copy of a duplicated key counts.
func collectPath(raw []byte, v rawjson.Span, segs []string, out *[]edit) error {
	b := raw[v.Start:v.End]
	if len(segs) == 0 || !rawjson.IsObject(b) && (len(b) == 0 || b[0] != '[') {
		return nil
	}
	var err error
	isArray := b[0] == '['
	eachErr := rawjson.Each(b, func(key string, i int, sp rawjson.Span) {
		if err != nil {
			return
		}
		if isArray && segs[0] != "*" && segs[0] != strconv.Itoa(i) || !isArray && segs[0] != "*" && segs[0] != key {
			return
		}
		sp = rawjson.Span{Start: v.Start + sp.Start, End: v.Start + sp.End}
		if len(segs) > 1 {
			err = collectPath(raw, sp, segs[1:], out)
			return
		}
		if val := raw[sp.Start:sp.End]; !rawjson.IsNull(val) && !isMarkerToken(val) {
			*out = append(*out, edit{sp, "field"})
		}
	})
	if eachErr != nil {
		return eachErr
	}
	return err
}

// isMarkerToken reports whether a value is a string that is one marker.
func isMarkerToken(v []byte) bool {
	s, ok := rawjson.Str(v)
	return ok && markerRE.FindString(s) == s && s != ""
}

// applyEdits replaces each edit's value by its marker.
func (r *Redactor) applyEdits(raw []byte, edits []edit) ([]byte, error) {
	out := make([]byte, 0, len(raw)+64*len(edits))
	prev := 0
	for _, ed := range edits {
		v := raw[ed.Start:ed.End]
		var val string
		if s, ok := rawjson.Str(v); ok {
			val = s
		} else {
			// What the object path measures and hashes: the value as
			// encoding/json marshals it (keys sorted, compact).
			dec := json.NewDecoder(bytes.NewReader(v))
			dec.UseNumber()
			var x any
			if err := dec.Decode(&x); err != nil {
				return nil, err
			}
			b, err := json.Marshal(x)
			if err != nil {
				return nil, err
			}
			val = string(b)
		}
		out = append(out, raw[prev:ed.Start]...)
		out = rawjson.AppendString(out, r.marker(ed.kind, val))
		prev = ed.End
	}
	return append(out, raw[prev:]...), nil
}

// rewriteToken scans one key, string or number token (sum: the sieve's
// sum over a string, see RewriteSieved); a replacement is appended to dst.
func (r *Redactor) rewriteToken(dst, tok []byte, k rawjson.Kind, plain bool, sum uint64, memo *scanMemo) ([]byte, error) {
	var out string
	var changed bool
	switch {
	case k == rawjson.Number:
		if r.need&hintNone == 0 && len(tok) < 13 {
			// Of the built-in patterns only a card fits in a number, and
			// it takes 13 digits: short numbers (times, counts) stay out
			// of the memo, where they would evict the strings that repeat.
			return nil, nil
		}
		out, changed = r.scanBytes(tok, 0, memo)
	case plain:
		out, changed = r.scanBytes(tok[1:len(tok)-1], sum, memo)
	default:
		s, _ := rawjson.Str(tok)
		out, changed = r.scan(s)
	}
	if !changed {
		return nil, nil
	}
	if k == rawjson.Key {
		return nil, errFallback // renamed keys may collide: the object path handles that
	}
	return rawjson.AppendString(dst, out), nil
}
