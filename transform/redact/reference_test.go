package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/auditrelay/auditrelay/pipeline"
)

// reference redacts the decoded object of an event, as the package's rules
// say: the request content, then each field path in turn, then the
// patterns over every key and value. It is the model the byte path is held
// to (checkSamePaths, TestSimulatorDifferential); the package itself never
// decodes an event.
type reference struct {
	r  *Redactor
	sc scanner
}

func newReference(r *Redactor) *reference { return &reference{r: r, sc: r.newScanner()} }

// decodeObject decodes raw as encoding/json does: one object (null counts
// as an empty one), white space after it.
func decodeObject(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if strings.Trim(string(raw[dec.InputOffset():]), " \t\r\n") != "" {
		return nil, errors.New("data after the object")
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

func (ref *reference) event(e *pipeline.Event) error {
	obj, err := decodeObject(e.Raw)
	if err != nil {
		return err
	}
	changed := ref.content(obj)
	for _, f := range ref.r.fields {
		if ref.path(obj, f, "field") {
			changed = true
		}
	}
	if len(ref.r.patterns) > 0 {
		if ref.walkMap(obj) {
			changed = true
		}
		if s, ok := ref.sc.scan(e.ActorEmail); ok {
			e.ActorEmail = s
		}
	}
	if changed {
		e.SetObject(obj)
	}
	return nil
}

func (ref *reference) content(obj map[string]any) bool {
	if ref.r.content == ContentNone {
		return false
	}
	req, ok := obj["api_request"].(map[string]any)
	if !ok {
		return false
	}
	all := ref.r.content == ContentAll
	changed := false
	if all || req["prompt_truncated"] == true {
		for _, k := range []string{"prompt", "messages", "input"} {
			if ref.key(req, k, k) {
				changed = true
			}
		}
	}
	if all || req["response_body_truncated"] == true {
		if ref.key(req, "response", "response") {
			changed = true
		}
	}
	return changed
}

// key replaces m[k] whole with a marker (or deletes it).
func (ref *reference) key(m map[string]any, k, kind string) bool {
	v, ok := m[k]
	if !ok || v == nil {
		return false
	}
	if s, ok := v.(string); ok && isMarker(s) {
		return false
	}
	if ref.r.mode == ModeRemove {
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
	m[k] = ref.sc.marker(kind, val)
	return true
}

// path redacts the values at a JSON pointer; "*" matches any key or index.
func (ref *reference) path(v any, segs []segment, kind string) bool {
	if len(segs) == 0 {
		return false
	}
	last := len(segs) == 1
	switch n := v.(type) {
	case map[string]any:
		if segs[0].any {
			changed := false
			for k := range n {
				if last && ref.key(n, k, kind) || !last && ref.path(n[k], segs[1:], kind) {
					changed = true
				}
			}
			return changed
		}
		if last {
			return ref.key(n, segs[0].name, kind)
		}
		return ref.path(n[segs[0].name], segs[1:], kind)
	case []any:
		changed := false
		for i := range n {
			if !segs[0].any && segs[0].name != strconv.Itoa(i) {
				continue
			}
			if last {
				if n[i] != nil {
					if ref.r.mode == ModeRemove {
						n[i] = nil // keep indexes stable
					} else {
						tmp := map[string]any{"v": n[i]}
						ref.key(tmp, "v", kind)
						n[i] = tmp["v"]
					}
					changed = true
				}
			} else if ref.path(n[i], segs[1:], kind) {
				changed = true
			}
		}
		return changed
	}
	return false
}

// walkMap scans the values and keys of m. Keys that redact alike get '~'
// appended, in the order of the original keys, until they name no other
// member.
func (ref *reference) walkMap(m map[string]any) bool {
	changed := false
	renamed := map[string]string{}
	for k, v := range m {
		if nv, ok := ref.walk(v); ok {
			m[k] = nv
			changed = true
		}
		if nk, ok := ref.sc.scan(k); ok {
			renamed[k] = nk
		}
	}
	keys := make([]string, 0, len(renamed))
	for k := range renamed {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	moved := map[string]any{}
	for _, k := range keys {
		moved[k] = m[k]
		delete(m, k)
	}
	for _, k := range keys {
		nk := renamed[k]
		for _, ok := m[nk]; ok; _, ok = m[nk] {
			nk += "~"
		}
		m[nk] = moved[k]
		changed = true
	}
	return changed
}

func (ref *reference) walk(v any) (any, bool) {
	switch v := v.(type) {
	case string:
		if s, ok := ref.sc.scan(v); ok {
			return s, true
		}
	case json.Number:
		if s, ok := ref.sc.scan(v.String()); ok {
			return s, true
		}
	case map[string]any:
		return v, ref.walkMap(v)
	case []any:
		changed := false
		for i, x := range v {
			if nx, ok := ref.walk(x); ok {
				v[i] = nx
				changed = true
			}
		}
		return v, changed
	}
	return v, false
}
