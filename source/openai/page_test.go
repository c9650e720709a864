package openai

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/openai/openaisim"
)

// TestDecodePage: a page is refused, naming what is wrong, when it is not
// a list, when an event is not an object or lacks a routing field, or when
// last_id is not its last event's id; a good page gives its events in
// order, each Raw the exact bytes of the page.
func TestDecodePage(t *testing.T) {
	const a = `{"id":"a","type":"user.added","effective_at":2}`
	const b = `{"id":"b","type":"user.deleted","effective_at":1,"actor":{"type":"session","session":{"user":{"id":"u1","email":"x@example.com"}}}}`
	refused := []struct{ body, want string }{
		{`{"object":"list","data":[1],"has_more":false}`, "data[0] is not a JSON object"},
		{`{"object":"list","data":[` + a + `,[2]],"has_more":false}`, "data[1] is not a JSON object"},
		{`{"object":"list","data":[{"id":"c","effective_at":1}],"has_more":false}`, "audit log c without type"},
		{`{"object":"list","data":[` + a + `,` + b + `],"last_id":"a","has_more":true}`, `last_id "a" is not the id of the last event`},
		{`{"object":"list","data":{},"has_more":false}`, "data is missing or not an array"},
		{`{"object":"list","data":[],"has_more":"no"}`, "has_more is missing or not a boolean"},
		{`{"object":"list","data":[]`, "not valid JSON"},
	}
	for _, tt := range refused {
		if _, err := DecodeAuditLogs([]byte(tt.body), "s", time.Time{}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.body, err, tt.want)
		}
	}
	page, err := DecodeAuditLogs([]byte(`{"object":"list","data":[ `+a+` , `+b+` ],"last_id":"b","has_more":true}`), "s", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 2 || !page.HasMore || page.Next != "b" {
		t.Fatalf("page %+v", page)
	}
	if got := string(page.Events[0].Raw); got != a {
		t.Errorf("Raw %s, want %s", got, a)
	}
	if ev := page.Events[1]; string(ev.Raw) != b || ev.ActorID != "u1" || ev.ActorEmail != "x@example.com" || ev.Type != "user.deleted" || ev.Time.Unix() != 1 {
		t.Errorf("event %+v", ev)
	}
	logs, err := DecodeRequestLogs([]byte(`{"object":"list","data":[{"id":"r","event":"chat","created_at":3}],"has_more":false}`), "s", time.Time{})
	if err != nil || len(logs.Events) != 1 || logs.Events[0].Type != "chat" {
		t.Fatalf("request logs %+v, %v", logs, err)
	}
}

// BenchmarkDecodeAuditLogs decodes a page of 100 simulator events: the
// source's own CPU per event, before any transform.
func BenchmarkDecodeAuditLogs(b *testing.B) {
	sim := openaisim.New(openaisim.Options{Seed: 1, Events: 100, Users: 25, Projects: 8})
	data := make([][]byte, 100)
	for i := range data {
		data[i] = sim.Event(i)
	}
	body := fmt.Appendf(nil, `{"object":"list","data":[%s],"first_id":"x","last_id":"y","has_more":false}`, bytes.Join(data, []byte(",")))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeAuditLogs(body, "s", time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(data)), "ns/event")
}
