package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/auditrelay/auditrelay/pipeline"
)

// An event is redacted in its bytes. jsontext reads them value by value and
// reports where each one lies; what is to be redacted becomes an edit of
// those bytes (a string or a key replaced, a member deleted), and the edits
// are spliced into a copy of the event. Everything outside the edits keeps
// its bytes (key order, spacing, escapes, the spelling of numbers), and an
// event without edits keeps its Raw.
//
// The result is the one of redacting the decoded object: the request
// content first, then each field path in turn, then the patterns over every
// key and value left. Whole values are found in the same reading as the
// patterns; when two of them overlap (a field path inside the content, two
// paths reaching one value), the first rule's edits are applied alone and
// the event is read again for the rules after it, so that a marker covers
// what the rules before it left.

var (
	errNotObject = errors.New("not a JSON object")
	errTrailing  = errors.New("data after the event's object")
)

// editor redacts the events of one batch, one at a time. Its buffers serve
// every event of the batch and hold nothing of one event once the next
// begins. Not safe for concurrent use.
type editor struct {
	scanner
	dec    *jsontext.Decoder
	key    []byte // the unquoted key of the member being read
	norm   []byte // the key normalized, for isSecretKey
	str    []byte // the unquoted string being scanned
	frames []frame
	// members are those of the open objects, each object's after its
	// parent's; pos are the field-path positions of the open containers.
	members []member
	pos     []pathPos
	edits   []edit
	reps    []byte // the new bytes of the edits
	// conflict is set when the whole values of two rules overlap.
	conflict bool
	// keyFlag is the content flag the value being read sets (-1: none).
	keyFlag int
}

// edit replaces raw[start:end] with editor.reps[from:to]. rule is the
// whole-value rule that made it (0: request content, i: field path i-1),
// or -1 for a pattern match.
type edit struct {
	start, end int
	from, to   int
	rule       int
}

// quoted adds the edit that replaces raw[start:end] with the JSON string s.
func (ed *editor) quoted(start, end, rule int, s string) {
	from := len(ed.reps)
	ed.reps, _ = jsontext.AppendQuote(ed.reps, s)
	ed.edits = append(ed.edits, edit{start, end, from, len(ed.reps), rule})
}

// frame is an open object or array.
type frame struct {
	object  bool
	wantKey bool
	start   int // offset of its '{' or '['
	n       int // elements read, in an array
	members int // index of its first member in editor.members
	pos     int // its path positions are editor.pos[pos:pos+npos]
	npos    int
	// rule redacts the container whole as an element of an array (-1: none).
	rule int
	// request is set for the object under api_request at the top, whose
	// flags choose the content redacted.
	request                            bool
	promptTruncated, responseTruncated bool
	renamed                            bool // a key of it holds a match
}

// member is one member of an open object.
type member struct {
	keyStart, keyEnd int
	valStart, valEnd int
	// rule is the lowest whole-value rule that reaches the value (-1: none).
	rule int
	// content is the flag that makes the value request content: 0
	// prompt_truncated, 1 response_body_truncated, -1 none.
	content int
	rename  string // the key with its matches replaced; "" when it holds none
	deleted bool
	secret  bool // the key names a credential (SecretKeys)
}

// pathPos says that a container's members (or elements) are matched
// against segment seg of field path field.
type pathPos struct{ field, seg int }

var contentKeys = map[string]int{"prompt": 0, "messages": 0, "input": 0, "response": 1}

func (r *Redactor) newEditor() *editor {
	return &editor{scanner: r.newScanner(), dec: jsontext.NewDecoder(bytes.NewBuffer(nil))}
}

// event redacts e: its Raw, encoded first if a transform before left it
// decoded, and its ActorEmail.
func (ed *editor) event(e *pipeline.Event) error {
	if err := e.Finalize(); err != nil {
		return err
	}
	raw, changed, err := ed.redact(e.Raw)
	if err != nil {
		return err
	}
	if len(ed.r.patterns) > 0 {
		// The index fields travel with the event (sinks use them as keys
		// and attributes): they must not keep what the JSON no longer has.
		if s, ok := ed.scan(e.ActorEmail); ok {
			e.ActorEmail = s
		}
	}
	if changed {
		e.SetRaw(raw)
	}
	return nil
}

// redact returns raw with its edits applied, or raw itself when it has none.
func (ed *editor) redact(raw []byte) ([]byte, bool, error) {
	changed := false
	for first := 0; ; {
		if err := ed.read(raw, first); err != nil {
			return nil, false, err
		}
		rule := ed.firstConflict()
		if rule < 0 {
			if len(ed.edits) == 0 {
				return raw, changed, nil
			}
			return splice(raw, ed.edits, ed.reps), true, nil
		}
		ed.edits = slices.DeleteFunc(ed.edits, func(e edit) bool { return e.rule != rule })
		raw, changed, first = splice(raw, ed.edits, ed.reps), true, rule+1
	}
}

// firstConflict sorts the edits and drops the pattern edits inside whole
// values. When whole values of different rules overlap it returns the
// lowest rule with an edit, -1 otherwise.
func (ed *editor) firstConflict() int {
	slices.SortFunc(ed.edits, func(a, b edit) int {
		switch {
		case a.start != b.start:
			return a.start - b.start
		case (a.rule < 0) != (b.rule < 0):
			return b.rule - a.rule // whole values first
		}
		return b.end - a.end
	})
	lowest, covered, kept := -1, 0, ed.edits[:0]
	for _, e := range ed.edits {
		if e.start < covered {
			if e.rule < 0 {
				continue // inside a whole value
			}
			ed.conflict = true
		}
		if e.rule >= 0 {
			covered = max(covered, e.end)
			if lowest < 0 || e.rule < lowest {
				lowest = e.rule
			}
		}
		kept = append(kept, e)
	}
	ed.edits = kept
	if ed.conflict {
		return lowest
	}
	return -1
}

// splice returns a copy of raw with the edits, sorted and disjoint, applied.
func splice(raw []byte, edits []edit, reps []byte) []byte {
	n := len(raw)
	for _, e := range edits {
		n += e.to - e.from - (e.end - e.start)
	}
	out := make([]byte, 0, n)
	prev := 0
	for _, e := range edits {
		out = append(out, raw[prev:e.start]...)
		out = append(out, reps[e.from:e.to]...)
		prev = e.end
	}
	return append(out, raw[prev:]...)
}

// read reads raw, one JSON object (or null, which holds nothing), and
// collects its edits for the whole-value rules from first on and for the
// patterns.
func (ed *editor) read(raw []byte, first int) error {
	ed.edits, ed.reps, ed.frames, ed.members, ed.pos = ed.edits[:0], ed.reps[:0], ed.frames[:0], ed.members[:0], ed.pos[:0]
	ed.conflict = false
	d := ed.dec
	d.Reset(bytes.NewBuffer(raw), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	switch d.PeekKind() {
	case '{':
	case 'n':
		if _, err := d.ReadValue(); err != nil {
			return err
		}
		return ed.end()
	default:
		if _, err := d.ReadValue(); err != nil && err != io.EOF {
			return err
		}
		return errNotObject
	}
	for {
		switch kind := d.PeekKind(); kind {
		case '{', '[':
			if _, err := d.ReadToken(); err != nil {
				return err
			}
			ed.open(kind == '{', int(d.InputOffset())-1, first)
		case '}', ']':
			if _, err := d.ReadToken(); err != nil {
				return err
			}
			if err := ed.close(raw, int(d.InputOffset())); err != nil {
				return err
			}
			if len(ed.frames) == 0 {
				return ed.end()
			}
		default:
			v, err := d.ReadValue()
			if err != nil {
				return err
			}
			end := int(d.InputOffset())
			if fr := &ed.frames[len(ed.frames)-1]; fr.object && fr.wantKey {
				ed.name(v, end-len(v), end)
			} else if err := ed.scalar(raw, v, end-len(v), end); err != nil {
				return err
			}
		}
	}
}

// end checks that nothing but white space follows the event's value.
func (ed *editor) end() error {
	if _, err := ed.dec.ReadToken(); err != io.EOF {
		return errTrailing
	}
	return nil
}

// open pushes the frame of a container that starts at start.
func (ed *editor) open(object bool, start, first int) {
	child := frame{object: object, wantKey: object, start: start, members: len(ed.members), rule: -1}
	if len(ed.frames) == 0 {
		// The top: every field path starts here, the content below it.
		child.pos = len(ed.pos)
		for i := range ed.r.fields {
			if i+1 >= first {
				ed.pos = append(ed.pos, pathPos{field: i})
			}
		}
		child.npos = len(ed.pos) - child.pos
		ed.frames = append(ed.frames, child)
		return
	}
	fr := &ed.frames[len(ed.frames)-1]
	child.pos = len(ed.pos)
	rule := ed.match(fr, true)
	child.npos = len(ed.pos) - child.pos
	if fr.object {
		m := &ed.members[len(ed.members)-1]
		m.valStart, m.rule = start, rule
		fr.wantKey = true
		ed.setFlag(fr, nil)
		child.request = object && len(ed.frames) == 1 && first == 0 && ed.r.content != ContentNone && string(ed.key) == "api_request"
	} else {
		fr.n++
		child.rule = rule
	}
	ed.frames = append(ed.frames, child)
}

// match returns the lowest field-path rule that ends at the value being
// read in fr (-1: none). For a container it pushes the positions its
// members are matched against.
func (ed *editor) match(fr *frame, container bool) int {
	rule := -1
	if fr.npos == 0 {
		return rule
	}
	for _, p := range ed.pos[fr.pos : fr.pos+fr.npos] {
		seg := &ed.r.fields[p.field][p.seg]
		if !seg.any && (fr.object && seg.name != string(ed.key) || !fr.object && seg.index != fr.n) {
			continue
		}
		switch {
		case p.seg+1 == len(ed.r.fields[p.field]):
			if rule >= 0 {
				ed.conflict = true // the lower rule goes first; the other reads again
			}
			if rule < 0 || p.field+1 < rule {
				rule = p.field + 1
			}
		case container:
			ed.pos = append(ed.pos, pathPos{p.field, p.seg + 1})
		}
	}
	return rule
}

// name reads the key of a member.
func (ed *editor) name(v jsontext.Value, start, end int) {
	fr := &ed.frames[len(ed.frames)-1]
	fr.wantKey = false
	// The key itself serves the field paths, the top (api_request) and the
	// request's flags; elsewhere only the pre-check reads it.
	unquoted := fr.npos > 0 || len(ed.frames) == 1 || fr.request
	text := ed.text(v, &ed.key, unquoted)
	m := member{keyStart: start, keyEnd: end, rule: -1, content: -1, secret: ed.r.isSecretKey(&ed.norm, text)}
	ed.keyFlag = -1
	if fr.request {
		switch string(ed.key) {
		case "prompt_truncated":
			ed.keyFlag = 0
		case "response_body_truncated":
			ed.keyFlag = 1
		default:
			if c, ok := contentKeys[string(ed.key)]; ok {
				m.content = c
			}
		}
	}
	if h := candidates(ed.r, text); h != 0 {
		text = ed.text(v, &ed.key, true)
		if s, ok := ed.scanMatches(string(text), h); ok {
			m.rename, fr.renamed = s, true
		}
	}
	ed.members = append(ed.members, m)
}

// text returns the content of the string token v: unquoted in *buf, or,
// unless unquoted is set, its bytes when it has no backslash, which the
// pre-check reads alike (it looks at ASCII bytes only, so invalid UTF-8,
// which unquoting replaces, is no matter).
func (ed *editor) text(v jsontext.Value, buf *[]byte, unquoted bool) []byte {
	if raw := v[1 : len(v)-1]; !unquoted && bytes.IndexByte(raw, '\\') < 0 {
		return raw
	}
	*buf, _ = jsontext.AppendUnquote((*buf)[:0], v)
	return *buf
}

// truthy reports whether a content flag's value says true: true, a
// number other than 0, or the string "true" or "1" (any case), as the
// flags come from clients that write them all ways.
func truthy(v jsontext.Value) bool {
	switch v.Kind() {
	case 't':
		return true
	case '0':
		f, err := strconv.ParseFloat(string(v), 64)
		return err == nil && f != 0
	case '"':
		s, _ := jsontext.AppendUnquote(nil, v)
		return strings.EqualFold(string(s), "true") || string(s) == "1"
	}
	return false
}

// setFlag records the value v of a content flag of the request, when the
// member being read is one: only true counts, and the last member of a
// name, as a decoder keeps it. v is nil for a container, which is not
// true.
func (ed *editor) setFlag(fr *frame, v jsontext.Value) {
	switch ed.keyFlag {
	case 0:
		fr.promptTruncated = v != nil && truthy(v)
	case 1:
		fr.responseTruncated = v != nil && truthy(v)
	}
}

// scalar reads a value that is not a container.
func (ed *editor) scalar(raw []byte, v jsontext.Value, start, end int) error {
	fr := &ed.frames[len(ed.frames)-1]
	rule := ed.match(fr, false)
	if fr.object {
		m := &ed.members[len(ed.members)-1]
		m.valStart, m.valEnd, m.rule = start, end, rule
		fr.wantKey = true
		ed.setFlag(fr, v)
	} else {
		fr.n++
		if rule >= 0 {
			if err := ed.element(raw, rule, start, end); err != nil {
				return err
			}
		}
	}
	// Numbers are scanned too: a card number may be one.
	var text []byte
	switch v.Kind() {
	case '"':
		text = ed.text(v, &ed.str, false)
	case '0':
		text = v
	default:
		return nil
	}
	h := candidates(ed.r, text)
	if h == 0 {
		return nil
	}
	if v.Kind() == '"' {
		text = ed.text(v, &ed.str, true)
	}
	if s, ok := ed.scanMatches(string(text), h); ok {
		ed.quoted(start, end, -1, s)
	}
	return nil
}

// element adds the edit of an array element that rule redacts whole: it
// becomes null in remove mode (the indexes of the others stay), a marker
// otherwise.
func (ed *editor) element(raw []byte, rule, start, end int) error {
	v := raw[start:end]
	if v[0] == 'n' {
		return nil
	}
	if ed.r.mode == ModeRemove {
		from := len(ed.reps)
		ed.reps = append(ed.reps, "null"...)
		ed.edits = append(ed.edits, edit{start, end, from, len(ed.reps), rule})
		return nil
	}
	return ed.markWhole(raw, rule, "field", start, end)
}

// markWhole adds the edit that replaces the value at raw[start:end] with
// its marker, unless it is one already. len and hmac are those of the
// string, or of the compact JSON of anything else as encoding/json writes
// it (keys sorted).
func (ed *editor) markWhole(raw []byte, rule int, kind string, start, end int) error {
	v := jsontext.Value(raw[start:end])
	var val string
	switch v.Kind() {
	case '"':
		ed.str, _ = jsontext.AppendUnquote(ed.str[:0], v)
		if val = string(ed.str); isMarker(val) {
			return nil
		}
	case '{', '[':
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		var x any
		if err := dec.Decode(&x); err != nil {
			return err
		}
		b, err := json.Marshal(x)
		if err != nil {
			return err
		}
		val = string(b)
	default:
		val = string(v)
	}
	// A marker needs no escaping.
	from := len(ed.reps)
	ed.reps = append(ed.appendMarker(append(ed.reps, '"'), kind, val), '"')
	ed.edits = append(ed.edits, edit{start, end, from, len(ed.reps), rule})
	return nil
}

// close pops the frame of the container that ends at end.
func (ed *editor) close(raw []byte, end int) error {
	fr := &ed.frames[len(ed.frames)-1]
	if fr.object {
		if err := ed.closeObject(raw, fr); err != nil {
			return err
		}
	}
	start, rule := fr.start, fr.rule
	ed.members, ed.pos = ed.members[:fr.members], ed.pos[:fr.pos]
	ed.frames = ed.frames[:len(ed.frames)-1]
	if len(ed.frames) == 0 {
		return nil
	}
	if parent := &ed.frames[len(ed.frames)-1]; parent.object {
		ed.members[len(ed.members)-1].valEnd = end
	} else if rule >= 0 {
		return ed.element(raw, rule, start, end)
	}
	return nil
}

// closeObject adds the edits of an object's members: the whole values the
// rules reach, then the keys that hold a match.
func (ed *editor) closeObject(raw []byte, fr *frame) error {
	ms := ed.members[fr.members:]
	if fr.request {
		all := ed.r.content == ContentAll
		for i := range ms {
			m := &ms[i]
			if m.content < 0 || !all && !(m.content == 0 && fr.promptTruncated || m.content == 1 && fr.responseTruncated) {
				continue
			}
			if m.rule >= 0 {
				ed.conflict = true
			}
			m.rule = 0
		}
	}
	for i := range ms {
		// A credential's value goes whole; an object under such a key
		// (an audit log's actor.api_key) keeps its shape.
		if m := &ms[i]; m.secret && m.rule < 0 && (raw[m.valStart] == '"' || raw[m.valStart] == '-' || isDigit(raw[m.valStart])) {
			m.rule = 0
		}
	}
	var err error
	if ed.r.mode == ModeRemove {
		ed.removeMembers(raw, ms)
	} else {
		for i := range ms {
			if m := &ms[i]; m.rule >= 0 && raw[m.valStart] != 'n' {
				kind := "field"
				if m.rule == 0 {
					kind = string(unquote(raw, m.keyStart, m.keyEnd))
				}
				if err = ed.markWhole(raw, m.rule, kind, m.valStart, m.valEnd); err != nil {
					return err
				}
			}
		}
	}
	if fr.renamed {
		ed.renameKeys(raw, ms)
	}
	return nil
}

// removeMembers adds the edits that delete the members the rules reach,
// with the commas between them. As a decoder keeps the last of members of
// one name, a name goes when its last member is deleted: its other members
// go with it. Each run of deleted members of one rule is one edit.
func (ed *editor) removeMembers(raw []byte, ms []member) {
	removable := func(m *member) bool {
		if raw[m.valStart] == 'n' {
			return false
		}
		return raw[m.valStart] != '"' || !isMarker(string(unquote(raw, m.valStart, m.valEnd)))
	}
	found := false
	for i := range ms {
		if ms[i].rule < 0 || ms[i].deleted {
			continue
		}
		// The members of a name have the same rules: find the last.
		last := i
		for j := i + 1; j < len(ms); j++ {
			if ms[j].rule == ms[i].rule && ed.sameKey(raw, &ms[i], &ms[j]) {
				last = j
			}
		}
		gone := removable(&ms[last])
		for j := i; j <= last; j++ {
			if ms[j].rule == ms[i].rule && (j == i || ed.sameKey(raw, &ms[i], &ms[j])) {
				ms[j].deleted = ms[j].deleted || gone || removable(&ms[j])
				found = found || ms[j].deleted
			}
		}
	}
	if !found {
		return
	}
	for i := 0; i < len(ms); {
		if !ms[i].deleted {
			i++
			continue
		}
		j := i
		for j+1 < len(ms) && ms[j+1].deleted && ms[j+1].rule == ms[i].rule {
			j++
		}
		e := edit{start: ms[i].keyStart, end: ms[j].valEnd, rule: ms[i].rule} // replaced by nothing
		switch {
		case j+1 < len(ms): // up to the next member's key
			e.end = ms[j+1].keyStart
		case i > 0: // the last members: from the end of the one before
			e.start = ms[i-1].valEnd
		}
		ed.edits = append(ed.edits, e)
		i = j + 1
	}
}

// renameKeys adds the edits of the keys that hold a match. Two keys that
// redact alike would make one: the one whose original key sorts later gets
// '~' appended until it names no other member, so that both values stay,
// whatever the order of the members.
func (ed *editor) renameKeys(raw []byte, ms []member) {
	names := make([]string, len(ms))
	taken := map[string]bool{}
	for i := range ms {
		names[i] = string(unquote(raw, ms[i].keyStart, ms[i].keyEnd))
	}
	// A name stays when its last member does.
	last := map[string]int{}
	for i, n := range names {
		last[n] = i
	}
	var renamed []string
	for n, i := range last {
		switch {
		case ms[i].deleted:
		case ms[i].rename == "":
			taken[n] = true
		default:
			renamed = append(renamed, n)
		}
	}
	slices.Sort(renamed)
	to := map[string]string{}
	for _, n := range renamed {
		nk := ms[last[n]].rename
		for taken[nk] {
			nk += "~"
		}
		taken[nk], to[n] = true, nk
	}
	for i := range ms {
		if nk, ok := to[names[i]]; ok && !ms[i].deleted {
			ed.quoted(ms[i].keyStart, ms[i].keyEnd, -1, nk)
		}
	}
}

// sameKey reports whether two members have the same name.
func (ed *editor) sameKey(raw []byte, a, b *member) bool {
	ka, kb := raw[a.keyStart:a.keyEnd], raw[b.keyStart:b.keyEnd]
	if bytes.Equal(ka, kb) {
		return true
	}
	return string(unquote(raw, a.keyStart, a.keyEnd)) == string(unquote(raw, b.keyStart, b.keyEnd))
}

// unquote returns the content of the JSON string at raw[start:end], which
// jsontext has read.
func unquote(raw []byte, start, end int) []byte {
	s, _ := jsontext.AppendUnquote(nil, raw[start:end])
	return s
}
