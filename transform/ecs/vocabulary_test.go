package ecs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/schema/anthropic"
	"github.com/auditrelay/auditrelay/schema/chatgpt"
	"github.com/auditrelay/auditrelay/schema/openai"
	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
	"github.com/auditrelay/auditrelay/source/openai/openaisim"
	"github.com/auditrelay/auditrelay/transform/transformtest"
)

// The controlled vocabularies of ECS's categorization fields (ECS 8.11,
// "ECS categorization fields"): event.kind, event.category, event.type,
// event.outcome, and for each category the event.type values ECS expects
// with it.
var (
	ecsKinds    = []string{"alert", "enrichment", "event", "metric", "state", "pipeline_error", "signal"}
	ecsOutcomes = []string{"failure", "success", "unknown"}
	ecsTypes    = []string{"access", "admin", "allowed", "change", "connection", "creation", "deletion", "denied", "end",
		"error", "group", "indicator", "info", "installation", "protocol", "start", "user"}
	ecsExpected = map[string][]string{
		"api":                 {"access", "admin", "allowed", "change", "creation", "deletion", "denied", "end", "info", "start", "user"},
		"authentication":      {"start", "end", "info"},
		"configuration":       {"access", "change", "creation", "deletion", "info"},
		"database":            {"access", "change", "info", "error"},
		"driver":              {"change", "end", "info", "start"},
		"email":               {"info"},
		"file":                {"access", "change", "creation", "deletion", "info"},
		"host":                {"access", "change", "end", "info", "start"},
		"iam":                 {"admin", "change", "creation", "deletion", "group", "info", "user"},
		"intrusion_detection": {"allowed", "denied", "info"},
		"library":             {"start"},
		"malware":             {"info"},
		"network":             {"access", "allowed", "connection", "denied", "end", "info", "protocol", "start"},
		"package":             {"access", "change", "deletion", "info", "installation", "start"},
		"process":             {"access", "change", "end", "info", "start"},
		"registry":            {"access", "change", "creation", "deletion"},
		"session":             {"start", "end", "info"},
		"threat":              {"indicator"},
		"vulnerability":       {"info"},
		"web":                 {"access", "error", "info"},
	}
)

var (
	countryCode = regexp.MustCompile(`^[A-Z]{2}$`)
	regionCode  = regexp.MustCompile(`^[A-Z]{2}-[A-Z0-9]{1,3}$`)
)

// vendorOf names, by schema, the vendor whose name holds the original,
// event.module and the dataset of its events.
var vendorOf = map[string]struct{ name, dataset string }{
	openai.SchemaAuditLog:   {"openai", "openai.audit"},
	openai.SchemaRequestLog: {"openai", "openai.audit"},
	chatgpt.Schema:          {"chatgpt", "chatgpt.compliance"},
	anthropic.Schema:        {"anthropic", "anthropic.compliance"},
}

// mapped is an event as it went in and the document that came out.
type mapped struct {
	in  pipeline.Event
	raw []byte // in's bytes, kept apart from the event the mapping changed
	doc map[string]any
}

// mapEvents maps evs with the default config.
func mapEvents(t testing.TB, evs []pipeline.Event) []mapped {
	t.Helper()
	out := make([]mapped, len(evs))
	for i, e := range evs {
		out[i] = mapped{in: e, raw: bytes.Clone(e.Raw)}
	}
	b, err := New(DefaultConfig()).Process(context.Background(), pipeline.Batch{Events: evs})
	if err != nil {
		t.Fatal(err)
	}
	for i := range b.Events {
		e := &b.Events[i]
		if err := e.Finalize(); err != nil {
			t.Fatal(err)
		}
		// What a sink sees: the encoded bytes, decoded again.
		var doc map[string]any
		dec := json.NewDecoder(bytes.NewReader(e.Raw))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("%s: %v", out[i].in.ID, err)
		}
		if e.Schema != "ecs" {
			t.Fatalf("%s: schema %q", out[i].in.ID, e.Schema)
		}
		out[i].doc = doc
	}
	return out
}

// checkDoc reports every way m's document breaks ECS's vocabularies, the
// pairing of categories and types, the shapes of the fields an address
// and a user agent fill, or loses the original. known says whether the
// vendor's table must know the event's type (then it has a category).
func checkDoc(m mapped, known knownness) []string {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	d := m.doc
	ev, _ := d["event"].(map[string]any)
	if ev == nil {
		return []string{"no event object"}
	}
	if k, _ := ev["kind"].(string); !slices.Contains(ecsKinds, k) {
		fail("event.kind %v", ev["kind"])
	}
	if o, _ := ev["outcome"].(string); !slices.Contains(ecsOutcomes, o) {
		fail("event.outcome %v", ev["outcome"])
	}
	cats, hasCats := ev["category"].([]any)
	types, hasTypes := ev["type"].([]any)
	if hasCats != hasTypes || hasCats && (len(cats) == 0 || len(types) == 0) {
		fail("event.category %v and event.type %v must come together", ev["category"], ev["type"])
	}
	for _, c := range cats {
		want, ok := ecsExpected[fmt.Sprint(c)]
		if !ok {
			fail("event.category %v is not ECS's", c)
		}
		for _, ty := range types {
			if !slices.Contains(ecsTypes, fmt.Sprint(ty)) {
				fail("event.type %v is not ECS's", ty)
			} else if ok && !slices.Contains(want, fmt.Sprint(ty)) {
				fail("event.type %v is not expected with event.category %v", ty, c)
			}
		}
	}
	switch {
	case known == mustClassify && !hasCats:
		fail("a type of the vendor's table without event.category")
	case known == unknownType && hasCats:
		fail("an unknown type with event.category %v", cats)
	case known == unknownType && ev["outcome"] == "success":
		fail("an unknown type with event.outcome success")
	}
	if ev["id"] != m.in.ID {
		fail("event.id %v, want %q", ev["id"], m.in.ID)
	}
	if a, ok := ev["action"]; ok && a == "" || !ok && m.in.Type != "" {
		fail("event.action %v", ev["action"])
	}
	v := vendorOf[m.in.Schema]
	if ev["module"] != v.name || ev["dataset"] != v.dataset {
		fail("event.module %v, event.dataset %v", ev["module"], ev["dataset"])
	}
	if s, ok := ev["severity"].(json.Number); !ok || s < "1" || s > "5" {
		fail("event.severity %v", ev["severity"])
	}
	if !m.in.Time.IsZero() {
		ts, err := time.Parse(time.RFC3339Nano, fmt.Sprint(d["@timestamp"]))
		if err != nil || !ts.Equal(m.in.Time) {
			fail("@timestamp %v, want %v", d["@timestamp"], m.in.Time)
		}
	}

	// The original passes through whole under the vendor's name.
	var orig map[string]any
	dec := json.NewDecoder(bytes.NewReader(m.raw))
	dec.UseNumber()
	if err := dec.Decode(&orig); err == nil && !reflect.DeepEqual(d[v.name], orig) {
		fail("the original under %q differs from the event", v.name)
	}

	related, _ := d["related"].(map[string]any)
	if src, ok := d["source"].(map[string]any); ok {
		ip, _ := src["ip"].(string)
		if _, err := netip.ParseAddr(ip); err != nil {
			fail("source.ip %v", src["ip"])
		}
		if rips, _ := related["ip"].([]any); !slices.Contains(rips, any(ip)) {
			fail("related.ip %v lacks source.ip", related["ip"])
		}
		if geo, ok := src["geo"].(map[string]any); ok {
			errs = append(errs, checkGeo(geo)...)
		}
		if as, ok := src["as"].(map[string]any); ok {
			n, _ := as["number"].(json.Number)
			if v, err := strconv.ParseUint(string(n), 10, 32); err != nil || v == 0 {
				fail("source.as.number %v", as["number"])
			}
		}
	}
	if ua, ok := d["user_agent"]; ok {
		u, _ := ua.(map[string]any)
		if s, _ := u["original"].(string); s == "" || len(u) != 1 {
			fail("user_agent %v", ua)
		}
	}
	if u, ok := d["user"].(map[string]any); ok {
		rusers, _ := related["user"].([]any)
		for _, k := range []string{"id", "email"} {
			if s, ok := u[k]; ok && (s == "" || !slices.Contains(rusers, s)) {
				fail("user.%s %v missing from related.user %v", k, s, rusers)
			}
		}
	}
	return errs
}

func checkGeo(geo map[string]any) []string {
	var errs []string
	if c, ok := geo["country_iso_code"]; ok && !countryCode.MatchString(fmt.Sprint(c)) {
		errs = append(errs, fmt.Sprintf("source.geo.country_iso_code %v", c))
	}
	if c, ok := geo["region_iso_code"]; ok && !regionCode.MatchString(fmt.Sprint(c)) {
		errs = append(errs, fmt.Sprintf("source.geo.region_iso_code %v", c))
	}
	if loc, ok := geo["location"]; ok {
		l, _ := loc.(map[string]any)
		lat, err1 := numberIn(l["lat"], 90)
		lon, err2 := numberIn(l["lon"], 180)
		if err1 != nil || err2 != nil || len(l) != 2 {
			errs = append(errs, fmt.Sprintf("source.geo.location %v (%v, %v)", loc, lat, lon))
		}
	}
	for _, k := range []string{"city_name", "region_name"} {
		if s, ok := geo[k]; ok {
			if str, _ := s.(string); str == "" {
				errs = append(errs, fmt.Sprintf("source.geo.%s %v", k, s))
			}
		}
	}
	return errs
}

// numberIn is v as a number within [-limit, limit].
func numberIn(v any, limit float64) (float64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%v is not a number", v)
	}
	f, err := n.Float64()
	if err == nil && (f < -limit || f > limit) {
		err = fmt.Errorf("%v out of range", f)
	}
	return f, err
}

var simNow = time.Date(2026, 7, 9, 12, 0, 0, 0, time.UTC)

// simSets keeps the simulators' events, which TestVocabulary and
// TestVendorGolden both map: drawing them is the costly part.
var simSets = map[string][]pipeline.Event{}

// simEvents returns fresh copies of the events gen draws, drawn once per
// name.
func simEvents(t testing.TB, name string, gen func(testing.TB) []pipeline.Event) []pipeline.Event {
	evs, ok := simSets[name]
	if !ok {
		evs = gen(t)
		simSets[name] = evs
	}
	return transformtest.Clone(evs)
}

// openaiSimEvents are audit events of the OpenAI simulator until every
// type it emits was seen (null actors, sessions and keys among them), and
// request logs.
func openaiSimEvents(t testing.TB) []pipeline.Event {
	sim := openaisim.New(openaisim.Options{Seed: 23, Events: 200000, OrgLogEvents: 300, Span: 240 * time.Hour,
		Now: func() time.Time { return simNow }})
	// Every type, and every kind of actor: none (null), a session, a key.
	want := map[string]bool{"actor:": true, "actor:session": true, "actor:api_key": true}
	for _, typ := range openaisim.EventTypes() {
		want[typ] = true
	}
	var evs []pipeline.Event
	kinds := map[string]bool{}
	for i := 0; len(want) > 0; i++ {
		if i == 200000 {
			t.Fatalf("types never emitted: %v", want)
		}
		raw := sim.Event(i)
		f, err := openai.ReadObject(raw, "")
		if err != nil {
			t.Fatal(err)
		}
		// Every type with every kind of actor (null included), and a
		// share of the rest.
		ev, err := f.AuditLog(raw, "acme", simNow)
		if err != nil {
			t.Fatal(err)
		}
		a := f.Actor()
		k := ev.Type + "/" + a.Kind + "/" + a.KeyKind
		if want[ev.Type] || !kinds[k] || i%8 == 0 {
			delete(want, ev.Type)
			delete(want, "actor:"+a.Kind)
			kinds[k] = true
			evs = append(evs, ev)
		}
	}
	for i := range 200 {
		ev, err := openai.ParseRequestLog(sim.Log(i), "acme", simNow)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// chatgptTypes are the types the ChatGPT simulator writes files of: every
// known shape and two it has none for.
var chatgptTypes = append(slices.Clone(chatgptsim.KnownTypes), chatgpt.TypePluginSpreadsheet, "FUTURE_LOG")

// chatgptSimEvents are the records of every file the ChatGPT simulator
// lists over two hours.
func chatgptSimEvents(t testing.TB) []pipeline.Event {
	sim := chatgptsim.New(chatgptsim.Options{Seed: 23, Types: chatgptTypes, Lines: 8, Start: simNow.Add(-2 * time.Hour),
		Now: func() time.Time { return simNow }})
	want := map[string]bool{chatgpt.ActorUser: true, chatgpt.ActorAPIKey: true, chatgpt.ActorAgent: true, "SERVICE_PRINCIPAL": true}
	for _, typ := range chatgptTypes {
		want[typ] = true
	}
	var evs []pipeline.Event
	defer func() {
		if len(want) > 0 {
			t.Fatalf("never written: %v", want)
		}
	}()
	for _, fi := range sim.AllFiles() {
		var b bytes.Buffer
		if _, err := sim.WriteFile(&b, fi.ID); err != nil {
			t.Fatal(err)
		}
		for line := range bytes.Lines(b.Bytes()) {
			ev, err := chatgpt.Parse(bytes.TrimSpace(line), "workspace", simNow)
			if err != nil {
				t.Fatal(err)
			}
			f, _ := chatgpt.ReadObject(ev.Raw)
			delete(want, ev.Type)
			delete(want, f.Actor().Kind)
			evs = append(evs, ev)
		}
	}
	return evs
}

// anthropicSimEvents are activities of the Anthropic simulator until every
// type and every actor kind it writes was seen.
func anthropicSimEvents(t testing.TB) []pipeline.Event {
	const n = 400000
	sim := anthropicsim.New(anthropicsim.Options{Seed: 23, Activities: n, Span: 240 * time.Hour,
		Now: func() time.Time { return simNow }})
	want := map[string]bool{}
	for _, s := range append(append(anthropicsim.KnownTypes(), anthropicsim.UnknownTypes()...), anthropicsim.ActorTypes()...) {
		want[s] = true
	}
	var evs []pipeline.Event
	for i := 0; len(want) > 0; i++ {
		if i == n {
			t.Fatalf("never written: %v", want)
		}
		raw := sim.Activity(i)
		f, err := anthropic.ReadObject(raw)
		if err != nil {
			t.Fatal(err)
		}
		typ, kind := f.Type(), f.Actor().Kind
		if !want[typ] && !want[kind] && i%8 != 0 { // a share of the repeats
			continue
		}
		delete(want, typ)
		delete(want, kind)
		ev, err := f.Event(raw, "parent", simNow)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// edgeEvents are what no simulator writes: no actor, a null actor, an
// actor that is not an object, actor kinds and types nobody knows, and
// members of the wrong kind, for each vendor.
func edgeEvents(t testing.TB) []pipeline.Event {
	raws := []struct{ schema, raw string }{
		{openai.SchemaAuditLog, `{"id":"edge-o1","type":"login.failed","effective_at":1751990400,"actor":null}`},
		{openai.SchemaAuditLog, `{"id":"edge-o2","type":"gizmo.exploded","effective_at":1751990400,"actor":"someone","gizmo.exploded":{"id":7}}`},
		{openai.SchemaAuditLog, `{"id":"edge-o3","type":"login.succeeded","effective_at":1751990400,"actor":{"type":"session","session":{"ip_address":"198.51.100.7","user_agent":"curl/8","ip_address_details":{"country":"US","region_code":"CA","latitude":"91.5","longitude":"-122.4","asn":"AS15169"}}}}`},
		{chatgpt.Schema, `{"event_id":"edge-c1","type":"AUTH_LOG","timestamp":"2026-07-09T10:00:00.123456Z","actor":null,"action_data":{"action":"login_failed"}}`},
		{chatgpt.Schema, `{"event_id":"edge-c2","type":"FUTURE_LOG","timestamp":"2026-07-09T10:00:00Z","actor":{"type":"ROBOT","id":"r1"},"action":"EXPORTED"}`},
		{chatgpt.Schema, `{"event_id":"edge-c3","type":"AUDIT_LOG","timestamp":"2026-07-09T10:00:00Z","actor":[],"action":"SOMETHING_NEW","action_result":"BLOCKED","request_metadata":{"client_ip":"not an ip?","client_ip_details":{"latitude":"","asn":""}}}`},
		{chatgpt.Schema, `{"event_id":"edge-c4","timestamp":"2026-07-09T10:00:00Z"}`},
		{anthropic.Schema, `{"id":"edge-a1","created_at":"2026-07-09T10:00:00Z","organization_id":null,"actor":null,"type":"sso_login_failed"}`},
		{anthropic.Schema, `{"id":"edge-a2","created_at":"2026-07-09T10:00:00Z","type":"quantum_widget_entangled","actor":{"type":"robot_actor","ip_address":"192.0.2.1"},"widget":{"x":[1,2,{"y":null}]}}`},
		{anthropic.Schema, `{"id":"edge-a3","created_at":"2026-07-09T10:00:00Z"}`},
	}
	var evs []pipeline.Event
	for _, r := range raws {
		var (
			ev  pipeline.Event
			err error
		)
		switch r.schema {
		case chatgpt.Schema:
			ev, err = chatgpt.Parse([]byte(r.raw), "edge", simNow)
		case anthropic.Schema:
			ev, err = anthropic.Parse([]byte(r.raw), "edge", simNow)
		default:
			ev, err = openai.ParseAuditLog([]byte(r.raw), "edge", simNow)
		}
		if err != nil {
			t.Fatalf("%s: %v", r.raw, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// knownness is what a test knows of an event's type.
type knownness int

const (
	// mustClassify: a documented type of the vendor, which its table must
	// give a category.
	mustClassify knownness = iota
	// unknownType: a type of no known family, which keeps the safe
	// default: no category, no type, an outcome that is not success.
	unknownType
	// eitherWay: a type no list names yet of a family the table knows
	// (Anthropic's simulator writes two), classified like its siblings or
	// not at all.
	eitherWay
)

// isKnown says what the test knows of an event's type.
func isKnown(e pipeline.Event) knownness {
	switch e.Schema {
	case chatgpt.Schema:
		if slices.Contains(chatgptsim.KnownTypes, e.Type) {
			return mustClassify
		}
	case anthropic.Schema:
		switch {
		case slices.Contains(anthropicsim.KnownTypes(), e.Type) || e.ID == "edge-a1":
			return mustClassify
		case slices.Contains(anthropicsim.UnknownTypes(), e.Type):
			return eitherWay
		}
	case openai.SchemaRequestLog:
		return mustClassify
	default:
		if e.Type != "gizmo.exploded" && e.Type != "resource.deleted" &&
			!strings.HasPrefix(e.Type, "widget.") && !strings.HasPrefix(e.Type, "vector_store.") {
			return mustClassify
		}
	}
	return unknownType
}

// TestVocabulary maps every event the three simulators write (every type,
// every actor kind, null actors, unknown types) and the edge cases none
// writes, and holds each document to ECS's vocabularies, the pairing of
// event.category and event.type, the shapes of source and user_agent, and
// to the original passing through whole.
func TestVocabulary(t *testing.T) {
	for c, types := range ecsExpected {
		for _, ty := range types {
			if !slices.Contains(ecsTypes, ty) {
				t.Fatalf("the test's table pairs %s with %s, no ECS type", c, ty)
			}
		}
	}
	sets := map[string][]pipeline.Event{
		"openai": simEvents(t, "openai", openaiSimEvents), "chatgpt": simEvents(t, "chatgpt", chatgptSimEvents),
		"anthropic": simEvents(t, "anthropic", anthropicSimEvents), "edge": edgeEvents(t),
	}
	for name, evs := range sets {
		t.Run(name, func(t *testing.T) {
			seen := map[string]int{}
			for _, m := range mapEvents(t, evs) {
				errs := checkDoc(m, isKnown(m.in))
				for _, e := range errs {
					if seen[e]++; seen[e] <= 3 { // a broken rule breaks many events alike
						t.Errorf("%s (%s): %s", m.in.ID, m.in.Type, e)
					}
				}
			}
			t.Logf("%d events", len(evs))
		})
	}
}
