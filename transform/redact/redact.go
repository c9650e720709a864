package redact

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/auditrelay/auditrelay/internal/rawjson"
	"github.com/auditrelay/auditrelay/pipeline"
)

// Redactor is the redact transform. It is safe for concurrent use.
type Redactor struct {
	mode    string
	content string
	fields  [][]string
	// wholeKeys are the keys whole values hang under, as JSON strings
	// (api_request, the first key of each field path); wholeFirst is set
	// when a field path starts with "*" or no pattern is scanned for.
	wholeKeys  [][]byte
	wholeFirst bool
	// wholeFirstByte marks the first bytes of the plain wholeKeys: most
	// keys are told apart by it.
	wholeFirstByte [256]bool
	patterns       []pattern
	need           hint // union of the patterns' hints
	macs           sync.Pool
	// bufs are the buffers of batches done (rawBufs), kept for the next:
	// one per batch (or part) in flight.
	bufs  sync.Pool
	cache scanCache
	// sieve hands the raw path only the strings whose hints may hold a
	// match (nil with custom patterns, which see every string).
	sieve *rawjson.Sieve
}

var _ pipeline.Transform = (*Redactor)(nil)

// New returns a redactor for a config; it validates the config first.
func New(c *Config) (*Redactor, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("redact: %w", err)
	}
	r := &Redactor{mode: c.Mode, content: c.Content}
	r.bufs.New = func() any { return new(rawBufs) }
	var wholeNames []string
	for _, f := range c.Fields {
		segs, _ := parsePointer(f)
		r.fields = append(r.fields, segs)
		wholeNames = append(wholeNames, segs[0])
		r.wholeFirst = r.wholeFirst || segs[0] == "*"
	}
	if c.Content != ContentNone {
		wholeNames = append(wholeNames, "api_request")
	}
	for _, k := range wholeNames {
		r.wholeKeys = append(r.wholeKeys, rawjson.AppendString(nil, k))
	}
	r.wholeFirst = r.wholeFirst || len(c.Patterns) == 0 && len(c.CustomPatterns) == 0
	for _, k := range r.wholeKeys {
		r.wholeFirstByte[k[1]] = true // '"' for the empty key
	}
	for _, n := range c.Patterns {
		r.patterns = append(r.patterns, builtins[n])
	}
	for _, p := range c.CustomPatterns {
		r.patterns = append(r.patterns, pattern{name: p.Name, need: hintAny | hintNone, re: regexp.MustCompile(p.Regex)})
	}
	for _, p := range r.patterns {
		r.need |= p.need
	}
	if r.need&hintNone == 0 && len(r.patterns) > 0 {
		r.sieve = newSieve(r.need, wholeNames)
	}
	if c.Mode == ModeHash {
		key := []byte(c.HashKey.Value())
		r.macs.New = func() any { return hmac.New(sha256.New, key) }
	}
	return r, nil
}

// hintNone makes custom patterns run on every string.
const hintNone hint = 0x80

// Start implements pipeline.Component; it does nothing.
func (*Redactor) Start(context.Context) error { return nil }

// Shutdown implements pipeline.Component; it does nothing.
func (*Redactor) Shutdown(context.Context) error { return nil }

// Process redacts every event of b in place. It does not block and ignores
// ctx. An event that is not a JSON object fails the batch permanently: it
// cannot be scanned, and passing it on could leak what it holds.
func (r *Redactor) Process(_ context.Context, b pipeline.Batch) (pipeline.Batch, error) {
	// The events that change (most hold an e-mail or an address) get
	// their new bytes from the batch's memory.
	bufs := r.bufs.Get().(*rawBufs)
	defer r.putBufs(bufs)
	bufs.out = b.Memory()
	for i := range b.Events {
		if err := r.event(&b.Events[i], bufs); err != nil {
			return b, pipeline.Permanent(fmt.Errorf("redact: event %s: %w", b.Events[i].ID, err))
		}
	}
	return b, nil
}

// Event redacts one event in place. While Raw is current (no transform
// before it changed the decoded object) it edits the bytes and leaves an
// event with nothing to redact untouched; otherwise it works on the decoded
// object.
func (r *Redactor) Event(e *pipeline.Event) error {
	return r.event(e, &rawBufs{out: new(pipeline.Memory)})
}

// event is Event with the buffers of the raw path.
func (r *Redactor) event(e *pipeline.Event, bufs *rawBufs) error {
	if e.RawCurrent() && r.eventRaw(e, bufs) {
		return nil
	}
	return r.eventObject(e)
}

// eventObject redacts the decoded object of e.
func (r *Redactor) eventObject(e *pipeline.Event) error {
	obj, err := e.Object()
	if err != nil {
		return err
	}
	changed := r.redactContent(obj)
	for _, f := range r.fields {
		if r.redactPath(obj, f, "field") {
			changed = true
		}
	}
	if len(r.patterns) > 0 {
		if r.walkMap(obj) {
			changed = true
		}
		// The index fields travel with the event (sinks use them as keys
		// and attributes): they must not keep what the JSON no longer has.
		if s, ok := r.scan(e.ActorEmail); ok {
			e.ActorEmail = s
		}
	}
	if changed {
		e.SetObject(obj)
	}
	return nil
}

func (r *Redactor) redactContent(obj map[string]any) bool {
	if r.content == ContentNone {
		return false
	}
	req, ok := obj["api_request"].(map[string]any)
	if !ok {
		return false
	}
	all := r.content == ContentAll
	changed := false
	if all || req["prompt_truncated"] == true {
		for _, k := range []string{"prompt", "messages", "input"} {
			if r.redactKey(req, k, k) {
				changed = true
			}
		}
	}
	if all || req["response_body_truncated"] == true {
		if r.redactKey(req, "response", "response") {
			changed = true
		}
	}
	return changed
}

// redactKey replaces m[k] whole with a marker (or deletes it).
func (r *Redactor) redactKey(m map[string]any, k, kind string) bool {
	v, ok := m[k]
	if !ok || v == nil {
		return false
	}
	if s, ok := v.(string); ok && markerRE.MatchString(s) && markerRE.FindString(s) == s {
		return false // already redacted
	}
	if r.mode == ModeRemove {
		delete(m, k)
		return true
	}
	var val string
	switch v := v.(type) {
	case string:
		val = v
	case json.Number:
		val = v.String()
	default:
		b, err := json.Marshal(v)
		if err != nil {
			b = []byte(fmt.Sprint(v))
		}
		val = string(b)
	}
	m[k] = r.marker(kind, val)
	return true
}

// redactPath redacts the values at a JSON pointer; "*" matches any key or index.
func (r *Redactor) redactPath(v any, segs []string, kind string) bool {
	if len(segs) == 0 {
		return false
	}
	last := len(segs) == 1
	switch n := v.(type) {
	case map[string]any:
		if segs[0] == "*" {
			changed := false
			for k := range n {
				if last && r.redactKey(n, k, kind) || !last && r.redactPath(n[k], segs[1:], kind) {
					changed = true
				}
			}
			return changed
		}
		if last {
			return r.redactKey(n, segs[0], kind)
		}
		return r.redactPath(n[segs[0]], segs[1:], kind)
	case []any:
		changed := false
		for i := range n {
			if segs[0] != "*" && segs[0] != strconv.Itoa(i) {
				continue
			}
			if last {
				if n[i] != nil {
					if r.mode == ModeRemove {
						n[i] = nil // keep indexes stable
					} else {
						tmp := map[string]any{"v": n[i]}
						r.redactKey(tmp, "v", kind)
						n[i] = tmp["v"]
					}
					changed = true
				}
			} else if r.redactPath(n[i], segs[1:], kind) {
				changed = true
			}
		}
		return changed
	}
	return false
}

func (r *Redactor) walkMap(m map[string]any) bool {
	changed := false
	var renamed map[string]string
	for k, v := range m {
		if nv, ok := r.walk(v); ok {
			m[k] = nv
			changed = true
		}
		if nk, ok := r.scan(k); ok {
			if renamed == nil {
				renamed = map[string]string{}
			}
			renamed[k] = nk
		}
	}
	for k, nk := range renamed {
		for m[nk] != nil { // two keys may redact to one marker: keep both values
			nk += "~"
		}
		m[nk] = m[k]
		delete(m, k)
		changed = true
	}
	return changed
}

func (r *Redactor) walk(v any) (any, bool) {
	switch v := v.(type) {
	case string:
		if s, ok := r.scan(v); ok {
			return s, true
		}
	case json.Number:
		if s, ok := r.scan(v.String()); ok {
			return s, true
		}
	case map[string]any:
		return v, r.walkMap(v)
	case []any:
		changed := false
		for i, x := range v {
			if nx, ok := r.walk(x); ok {
				v[i] = nx
				changed = true
			}
		}
		return v, changed
	}
	return v, false
}

type span struct {
	start, end int
	kind       string
}

// scan replaces every pattern match in s; ok reports a change.
func (r *Redactor) scan(s string) (string, bool) {
	if r.need&hintNone == 0 && (len(s) < 3 || hints(s)&r.need == 0) {
		return s, false
	}
	if res, ok := r.cache.get([]byte(s)); ok {
		return res.out, res.changed
	}
	out, changed := r.scanMatches(s)
	r.cache.put(s, scanResult{out, changed})
	return out, changed
}

// scanBytes is scan for the bytes of a token, remembered in memo; it copies
// them only when they are worth scanning and not cached.
// sum is the sieve's sum over b (0: not summed), which spares hints its
// count of the bytes.
func (r *Redactor) scanBytes(b []byte, sum uint64, memo *scanMemo) (string, bool) {
	if r.need&hintNone == 0 && len(b) < 3 {
		return "", false
	}
	slot, ok := memo.find(b)
	if ok {
		return slot.out, slot.changed
	}
	var out string
	var changed bool
	if r.need&hintNone != 0 || hintsSummed(b, sum)&r.need != 0 {
		if res, ok := r.cache.get(b); ok {
			out, changed = res.out, res.changed
		} else {
			s := string(b)
			out, changed = r.scanMatches(s)
			r.cache.put(s, scanResult{out, changed})
		}
	}
	*slot = memoSlot{s: b, out: out, changed: changed}
	return out, changed
}

// hintsSummed is hints(b), from the sieve's sum when there is one.
func hintsSummed(b []byte, sum uint64) hint {
	if sum != 0 {
		return sieveHints(b, sum)
	}
	return hints(b)
}

// scanMatches replaces every pattern match in s, rescanning the result.
func (r *Redactor) scanMatches(s string) (string, bool) {
	out, changed := s, false
	for pass := 0; pass < 3; pass++ {
		spans := r.find(out)
		if len(spans) == 0 {
			return out, changed
		}
		out, changed = r.replace(out, spans), true
	}
	if len(r.find(out)) > 0 {
		// Replacement keeps creating matches: give up on the string.
		return r.marker("content", s), true
	}
	return out, true
}

func (r *Redactor) find(s string) []span {
	h := hints(s)
	var spans []span
	var markers [][]int
	markersDone := false
	for i := range r.patterns {
		p := &r.patterns[i]
		if p.need&hintNone == 0 && h&p.need == 0 {
			continue
		}
		if p.whole != nil && p.whole(s) {
			// s is one match from end to end (and holds no marker).
			spans = append(spans, span{0, len(s), p.name})
			continue
		}
		for _, m := range p.re.FindAllStringIndex(s, -1) {
			if m[0] == m[1] || p.valid != nil && !p.valid(s, m[0], m[1]) {
				continue
			}
			if !markersDone {
				markers, markersDone = markerRE.FindAllStringIndex(s, -1), true
			}
			if insideMarker(markers, m[0], m[1]) {
				continue
			}
			spans = append(spans, span{m[0], m[1], p.name})
		}
	}
	if len(spans) < 2 {
		return spans
	}
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].start != spans[j].start {
			return spans[i].start < spans[j].start
		}
		return spans[i].end > spans[j].end
	})
	merged := spans[:1]
	for _, sp := range spans[1:] {
		last := &merged[len(merged)-1]
		if sp.start < last.end {
			if sp.end > last.end {
				last.end = sp.end
			}
			continue
		}
		merged = append(merged, sp)
	}
	return merged
}

func insideMarker(markers [][]int, start, end int) bool {
	for _, m := range markers {
		if start >= m[0] && end <= m[1] {
			return true
		}
	}
	return false
}

func (r *Redactor) replace(s string, spans []span) string {
	var b strings.Builder
	b.Grow(len(s) + 32*len(spans))
	prev := 0
	for _, sp := range spans {
		b.WriteString(s[prev:sp.start])
		if r.mode == ModeRemove {
			b.WriteString("[REDACTED:" + sp.kind + "]")
		} else {
			b.WriteString(r.marker(sp.kind, s[sp.start:sp.end]))
		}
		prev = sp.end
	}
	b.WriteString(s[prev:])
	return b.String()
}

// marker renders the replacement of val.
func (r *Redactor) marker(kind, val string) string {
	m := "[REDACTED:" + kind + " len=" + strconv.Itoa(len(val))
	if r.mode == ModeHash {
		if kind == "email" {
			val = strings.ToLower(val)
		}
		mac := r.macs.Get().(hash.Hash)
		mac.Reset()
		mac.Write([]byte(val))
		var sum [sha256.Size]byte
		m += " hmac=" + hex.EncodeToString(mac.Sum(sum[:0])[:8])
		r.macs.Put(mac)
	}
	return m + "]"
}
