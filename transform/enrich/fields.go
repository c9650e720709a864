package enrich

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/auditrelay/auditrelay/transform/internal/rawjson"
)

// fields reads the few values enrich needs from an event, whether decoded
// (the object a transform before it changed) or still raw.
type fields interface {
	// str returns the string at a path of keys, or "" when a step is
	// missing, not an object, or the value is not a string.
	str(path ...string) string
	// isObject reports whether the value at a path is an object.
	isObject(path ...string) bool
	// has reports whether the top-level key is present and not null.
	has(key string) bool
	// boolean returns the top-level boolean at key; ok is false for any
	// other value.
	boolean(key string) (v, ok bool)
}

type objectFields map[string]any

func (m objectFields) at(path []string) any {
	var v any = map[string]any(m)
	for _, k := range path {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[k]
	}
	return v
}

func (m objectFields) str(path ...string) string {
	s, _ := m.at(path).(string)
	return s
}

func (m objectFields) isObject(path ...string) bool {
	_, ok := m.at(path).(map[string]any)
	return ok
}

func (m objectFields) has(key string) bool { return m[key] != nil }

func (m objectFields) boolean(key string) (bool, bool) {
	b, ok := m[key].(bool)
	return b, ok
}

// rawFields reads an encoded event. Its top-level members are located in
// one pass; deeper steps scan only the member they are in.
type rawFields struct {
	raw   []byte
	keys  []string
	spans []rawjson.Span
}

// topKeys are the top-level members enrich reads; the event type (the key
// of the payload) is added per event.
var topKeys = []string{"success", "event", "type", "actor", "project", "target", "auditrelay"}

func newRawFields(raw []byte, typ string) (*rawFields, error) {
	f := &rawFields{raw: raw, keys: append(topKeys[:len(topKeys):len(topKeys)], typ)}
	f.spans = make([]rawjson.Span, len(f.keys))
	if err := rawjson.Members(raw, f.keys, f.spans, nil); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *rawFields) at(path []string) []byte {
	j := slices.Index(f.keys, path[0])
	if j < 0 || f.spans[j] == (rawjson.Span{}) {
		return nil
	}
	v := f.raw[f.spans[j].Start:f.spans[j].End]
	if len(path) == 1 {
		return v
	}
	if !rawjson.IsObject(v) {
		return nil
	}
	return rawjson.Lookup(v, path[1:]...)
}

func (f *rawFields) str(path ...string) string {
	s, _ := rawjson.Str(f.at(path))
	return s
}

func (f *rawFields) isObject(path ...string) bool { return rawjson.IsObject(f.at(path)) }

func (f *rawFields) has(key string) bool { return !rawjson.IsNull(f.at([]string{key})) }

func (f *rawFields) boolean(key string) (bool, bool) {
	switch string(f.at([]string{key})) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// appendJSON encodes the auditrelay object as encoding/json would (keys
// sorted, no HTML escaping) without reflection.
func appendJSON(dst []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return rawjson.AppendString(dst, v)
	case bool:
		return strconv.AppendBool(dst, v)
	case int:
		return strconv.AppendInt(dst, int64(v), 10)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = rawjson.AppendString(dst, k)
			dst = append(dst, ':')
			dst = appendJSON(dst, v[k])
		}
		return append(dst, '}')
	}
	b, err := json.Marshal(v)
	if err != nil {
		return append(dst, "null"...)
	}
	return append(dst, b...)
}
