package enrich

import (
	"encoding/json"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

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

// rawFields reads an encoded event. The paths enrich reads are located in
// one pass over the event (rawPaths); any other path is looked up.
type rawFields struct {
	raw   []byte
	spans [len(staticPaths) + 1]rawjson.Span
	typ   string
}

// staticPaths are the paths enrich reads from every event; the payload's
// id (the event type, then "id") comes last, per event type.
var staticPaths = [...][]string{
	{"success"}, {"event"}, {"type"}, {"auditrelay"},
	{"actor", "type"}, {"actor", "id"}, {"actor", "session", "user", "id"},
	{"actor", "api_key", "id"}, {"actor", "api_key", "user"}, {"actor", "api_key", "user", "id"},
	{"actor", "api_key", "service_account"}, {"actor", "api_key", "service_account", "id"},
	{"project"}, {"project", "id"}, {"target", "type"}, {"target", "id"},
}

// maxCachedTypes bounds the compiled paths kept per event type.
const maxCachedTypes = 1024

// pathCache keeps the compiled paths of each event type; it is safe for
// concurrent use.
type pathCache struct {
	m sync.Map // event type -> *rawjson.Paths
	n atomic.Int32
}

func (c *pathCache) get(typ string) *rawjson.Paths {
	if p, ok := c.m.Load(typ); ok {
		return p.(*rawjson.Paths)
	}
	p := rawjson.NewPaths(append(staticPaths[:len(staticPaths):len(staticPaths)], []string{typ, "id"})...)
	if c.n.Load() < maxCachedTypes {
		if _, loaded := c.m.LoadOrStore(typ, p); !loaded {
			c.n.Add(1)
		}
	}
	return p
}

// reset points f at another event.
func (f *rawFields) reset(raw []byte, typ string, c *pathCache) error {
	f.raw, f.typ = raw, typ
	return c.get(typ).Extract(raw, f.spans[:])
}

func (f *rawFields) at(path []string) []byte {
	i := slices.IndexFunc(staticPaths[:], func(p []string) bool { return slices.Equal(p, path) })
	if i < 0 && len(path) == 2 && path[0] == f.typ && path[1] == "id" {
		i = len(staticPaths)
	}
	if i < 0 { // not located beforehand
		return rawjson.Lookup(f.raw, path...)
	}
	if f.spans[i] == (rawjson.Span{}) {
		return nil
	}
	return f.raw[f.spans[i].Start:f.spans[i].End]
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
		var kbuf [16]string
		keys := kbuf[:0]
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
