package enrich

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/auditrelay/auditrelay/internal/rawjson"
)

// fields reads the few values enrich needs from an event, whether decoded
// (the object a transform before it changed) or still raw. Values are named
// by their path id (the index of the path in staticPaths, or payloadID).
type fields interface {
	// str returns the string at a path, or nil when a step is missing, not
	// an object, or the value is not a string. The bytes must not be
	// modified.
	str(id pathID) []byte
	// isObject reports whether the value at a path is an object.
	isObject(id pathID) bool
	// has reports whether the value at a path is present and not null.
	has(id pathID) bool
	// boolean returns the boolean at a path; ok is false for any other
	// value.
	boolean(id pathID) (v, ok bool)
}

type pathID int

// The paths enrich reads from every event.
const (
	pSuccess pathID = iota
	pEvent
	pType
	pAuditrelay
	pActorType
	pActorID
	pActorSessionUserID
	pActorKeyID
	pActorKeyUser
	pActorKeyUserID
	pActorKeyAccount
	pActorKeyAccountID
	pProject
	pProjectID
	pTargetType
	pTargetID
	// payloadID is the payload's id: the event type, then "id".
	payloadID
)

// staticPaths are indexed by pathID; the payload's path depends on the
// event type and comes last.
var staticPaths = [payloadID][]string{
	pSuccess: {"success"}, pEvent: {"event"}, pType: {"type"}, pAuditrelay: {"auditrelay"},
	pActorType: {"actor", "type"}, pActorID: {"actor", "id"}, pActorSessionUserID: {"actor", "session", "user", "id"},
	pActorKeyID: {"actor", "api_key", "id"}, pActorKeyUser: {"actor", "api_key", "user"},
	pActorKeyUserID:  {"actor", "api_key", "user", "id"},
	pActorKeyAccount: {"actor", "api_key", "service_account"}, pActorKeyAccountID: {"actor", "api_key", "service_account", "id"},
	pProject: {"project"}, pProjectID: {"project", "id"}, pTargetType: {"target", "type"}, pTargetID: {"target", "id"},
}

// objectFields reads a decoded event of type typ.
type objectFields struct {
	m   map[string]any
	typ string
}

func (o objectFields) at(id pathID) any {
	path := []string{o.typ, "id"}
	if id < payloadID {
		path = staticPaths[id]
	}
	var v any = o.m
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func (o objectFields) str(id pathID) []byte {
	s, _ := o.at(id).(string)
	return []byte(s)
}

func (o objectFields) isObject(id pathID) bool {
	_, ok := o.at(id).(map[string]any)
	return ok
}

func (o objectFields) has(id pathID) bool { return o.at(id) != nil }

func (o objectFields) boolean(id pathID) (bool, bool) {
	b, ok := o.at(id).(bool)
	return b, ok
}

// rawFields reads an encoded event: every path is located in one pass over
// it (typeInfo.paths).
type rawFields struct {
	raw   []byte
	spans [payloadID + 1]rawjson.Span
	memo  rawjson.ExtractMemo // the actors met before in the batch
}

// maxCachedTypes bounds the event types whose typeInfo is kept.
const maxCachedTypes = 1024

// typeInfo is what enrich derives from an event type alone.
type typeInfo struct {
	paths    *rawjson.Paths // staticPaths, then the payload's id
	severity string         // from the severity rules
}

// typeCache keeps the typeInfo of each event type; it is safe for
// concurrent use.
type typeCache struct {
	m sync.Map // event type -> *typeInfo
	n atomic.Int32
}

func (c *typeCache) get(typ string, rules []SeverityRule) *typeInfo {
	if t, ok := c.m.Load(typ); ok {
		return t.(*typeInfo)
	}
	t := &typeInfo{
		paths:    rawjson.NewPaths(append(staticPaths[:len(staticPaths):len(staticPaths)], []string{typ, "id"})...),
		severity: severityOf(rules, typ),
	}
	if c.n.Load() < maxCachedTypes {
		if _, loaded := c.m.LoadOrStore(typ, t); !loaded {
			c.n.Add(1)
		}
	}
	return t
}

// reset points f at another event.
func (f *rawFields) reset(raw []byte, t *typeInfo) error {
	f.raw = raw
	return t.paths.ExtractMemo(raw, f.spans[:], &f.memo)
}

func (f *rawFields) at(id pathID) []byte {
	sp := f.spans[id]
	if sp == (rawjson.Span{}) {
		return nil
	}
	return f.raw[sp.Start:sp.End]
}

func (f *rawFields) str(id pathID) []byte {
	tok := f.at(id)
	if len(tok) < 2 || tok[0] != '"' {
		return nil
	}
	if in := tok[1 : len(tok)-1]; bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
		return in // the common case: the token's bytes are the string
	}
	s, _ := rawjson.Str(tok)
	return []byte(s)
}

func (f *rawFields) isObject(id pathID) bool { return rawjson.IsObject(f.at(id)) }

func (f *rawFields) has(id pathID) bool { return !rawjson.IsNull(f.at(id)) }

func (f *rawFields) boolean(id pathID) (bool, bool) {
	switch string(f.at(id)) {
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
