package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	schema "github.com/auditrelay/auditrelay/schema/openai"
	"github.com/auditrelay/auditrelay/source/openai/openaisim"
)

// FuzzDecodeList checks the page envelope decoder on any input: it never
// panics, accepts only a JSON object of type "list" with a data array and
// has_more, and hands out every element of data as a JSON object cut from
// the page.
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
		var data [][]byte
		env, err := DecodeList(body, func(_ *schema.Fields, raw []byte) error {
			data = append(data, raw)
			return nil
		})
		if err != nil {
			if env != nil {
				t.Fatalf("error %v with a non-nil envelope", err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		if env.Object != "list" || env.Elements < 0 || env.Elements > len(data) || env.HasMore == nil {
			t.Fatalf("accepted an incomplete envelope: %+v", env)
		}
		for i, d := range data {
			if !json.Valid(d) || d[0] != '{' {
				t.Fatalf("data[%d] is not a JSON object: %q", i, d)
			}
			if !bytes.Contains(body, d) {
				t.Fatalf("data[%d] is not a part of the page: %q", i, d)
			}
		}
	})
}
