// Package decoded reads values out of a decoded event (the map
// pipeline.Event.Object returns, numbers as json.Number) for the transforms
// that map events to other schemas, for what schema/openai does not read
// (type, time, a payload's own fields, enrichment). A missing key or a
// value of another kind reads as the zero value.
package decoded

import "encoding/json"

// Obj returns the object at m[k], or nil.
func Obj(m map[string]any, k string) map[string]any {
	v, _ := m[k].(map[string]any)
	return v
}

// Str returns the string at m[k]; a number reads as its literal.
func Str(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

// Num returns the integer at m[k]. A fraction is truncated; a value beyond
// +-1e15 that is not an exact integer, or not a number, reads as 0 (a float
// conversion out of int64's range has no defined result).
func Num(m map[string]any, k string) int64 {
	var f float64
	switch v := m[k].(type) {
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n
		}
		var err error
		if f, err = v.Float64(); err != nil {
			return 0
		}
	case float64:
		f = v
	default:
		return 0
	}
	if f > -1e15 && f < 1e15 {
		return int64(f)
	}
	return 0
}
