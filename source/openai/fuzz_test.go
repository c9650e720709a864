package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/openai/openaisim"
)

// FuzzDecodeList checks the page envelope decoder on any input: it never
// panics, accepts only a JSON object of type "list" with a data array and
// has_more, and hands out every element of data as valid JSON. Its one-walk
// decoder, when it takes a page, gives what json.Unmarshal gives, and it
// takes every ordinary page.
func FuzzDecodeList(f *testing.F) {
	sim := openaisim.New(openaisim.Options{Seed: 5, Events: 20, OrgLogEvents: 20})
	var audit, logs [][]byte
	for i := range 20 {
		audit = append(audit, sim.Event(i))
		logs = append(logs, sim.Log(i))
	}
	page := func(data [][]byte, more bool) []byte {
		return fmt.Appendf(nil, `{"object":"list","data":[%s],"first_id":"a","last_id":"b","has_more":%t}`, bytes.Join(data, []byte(",")), more)
	}
	f.Add(page(audit, true))
	f.Add(page(logs, false))
	for _, s := range []string{
		`{"object":"list","data":[],"has_more":false}`,
		`{"object":"list","data":[],"has_more":false} trailing`,
		`{"object":"list","data":null,"has_more":true}`,
		`{"object":"lists","data":[],"has_more":false}`,
		`{"object":"list","data":[{}],"has_more":true,"last_id":null}`,
		`{"object":"list","data":[1,"x",null],"has_more":"yes"}`,
		`{"error":{"message":"rate limited","type":"requests"}}`,
		`<html>502 Bad Gateway</html>`, ``, `[]`, `{"object":"list","data":[{"id":"a"`,
		`{"Object":"list","data":[],"has_more":false}`, `{"object":"list","data":[1],"data":[2],"has_more":false}`,
		`{"object":"list","data":[ {"a" : 1} , [2] ],"has_more":true,"last_id":"\u0062","first_id":null}`,
		`{"object":"list","data":{},"has_more":false}`, `{"object":1,"data":[],"has_more":false}`,
		`{"object":"list","data":[],"has_more":"false"}`, `{"object":"li\u0073t","d\u0061ta":[],"has_more":false,"x":[1]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var ref ListEnvelope
		refErr := json.Unmarshal(body, &ref)
		if fast, ok := decodeListFast(body); ok {
			if refErr != nil {
				t.Fatalf("the fast path took %q, which json.Unmarshal refuses: %v", body, refErr)
			}
			if !reflect.DeepEqual(fast, &ref) {
				t.Fatalf("the fast path read %q as\n%+v\njson.Unmarshal as\n%+v", body, fast, &ref)
			}
		} else if refErr == nil && ordinaryPage(body) {
			t.Fatalf("the fast path refused the ordinary page %q", body)
		}
		env, err := DecodeList(body)
		if err != nil {
			if env != nil {
				t.Fatalf("error %v with a non-nil envelope", err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		if env.Object != "list" || env.Data == nil || env.HasMore == nil {
			t.Fatalf("accepted an incomplete envelope: %+v", env)
		}
		for i, d := range env.Data {
			if !json.Valid(d) {
				t.Fatalf("data[%d] is not valid JSON: %q", i, d)
			}
		}
	})
}

// FuzzParseEvents checks the parsers of single events, audit logs and
// request logs alike: they never panic, and an accepted event has the
// required fields and keeps the raw bytes as they came.
func FuzzParseEvents(f *testing.F) {
	sim := openaisim.New(openaisim.Options{Seed: 6, Events: 50, OrgLogEvents: 50})
	for i := range 50 {
		f.Add(sim.Event(i))
		f.Add(sim.Log(i))
	}
	for _, s := range []string{
		`{"id":"x","type":"t","effective_at":1}`,
		`{"id":"x","event":"e","created_at":1}`,
		`{"id":"x","event":"e","created_at":-1}`,
		`{"id":"x","event":"e","created_at":1e300}`,
		`{"id":"","type":"t","effective_at":1}`,
		`{"id":"x","project_id":"p","project":{"id":"q"},"actor":{"name":"a@b.c"},"event":"e","created_at":2}`,
		`null`, `[]`, `{`, `"x"`,
	} {
		f.Add([]byte(s))
	}
	observed := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, p := range []struct {
			name  string
			parse func(json.RawMessage, string, time.Time) (eventLike, error)
		}{
			{"audit", func(r json.RawMessage, s string, o time.Time) (eventLike, error) {
				ev, err := ParseAuditLog(r, s, o)
				return eventLike{ev.ID, ev.Type, ev.Source, ev.Raw}, err
			}},
			{"org", func(r json.RawMessage, s string, o time.Time) (eventLike, error) {
				ev, err := ParseOrganizationLog(r, s, o)
				return eventLike{ev.ID, ev.Type, ev.Source, ev.Raw}, err
			}},
		} {
			ev, err := p.parse(raw, "acme", observed)
			if err != nil {
				continue
			}
			if ev.id == "" || ev.typ == "" {
				t.Fatalf("%s: accepted %q without id or type: %+v", p.name, raw, ev)
			}
			if ev.source != "acme" || !bytes.Equal(ev.raw, raw) {
				t.Fatalf("%s: source %q, raw %q: the event must keep its source and bytes", p.name, ev.source, ev.raw)
			}
		}
	})
}

type eventLike struct {
	id, typ, source string
	raw             []byte
}

// ordinaryPage reports whether a page json.Unmarshal took is one the fast
// path must take too: every key exactly one of the envelope's or none like
// them, none twice, each of the type its field wants, no deep nesting.
func ordinaryPage(body []byte) bool {
	if bytes.Count(body, []byte("["))+bytes.Count(body, []byte("{")) > 900 {
		return false // maybe past rawjson's nesting limit
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		k := tok.(string)
		for _, want := range listKeys {
			if k != want && strings.EqualFold(k, want) {
				return false
			}
		}
		if seen[k] {
			return false
		}
		seen[k] = true
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return false
		}
		null := string(v) == "null"
		switch k {
		case "object", "first_id", "last_id":
			if !null && v[0] != '"' {
				return false
			}
		case "data":
			if !null && v[0] != '[' {
				return false
			}
		case "has_more":
			if !null && string(v) != "true" && string(v) != "false" {
				return false
			}
		}
	}
	return true
}
