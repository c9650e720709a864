package ocsf

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/auditrelay/auditrelay/internal/rawjson"
	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/transform/internal/decoded"
)

// Version is the OCSF version the output follows.
const Version = "1.3.0"

// The classes used.
const (
	ClassAccountChange    = 3001
	ClassAuthentication   = 3002
	ClassEntityManagement = 3004
	ClassAPIActivity      = 6003
)

var classNames = map[int]string{
	ClassAccountChange: "Account Change", ClassAuthentication: "Authentication",
	ClassEntityManagement: "Entity Management", ClassAPIActivity: "API Activity",
}

var severityNames = map[int]string{0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical", 6: "Fatal"}

// Mapper is the ocsf transform. It is safe for concurrent use.
type Mapper struct {
	original, product string
}

var _ pipeline.Transform = (*Mapper)(nil)

// New returns a mapper for a validated config.
func New(c *Config) *Mapper { return &Mapper{original: c.Original, product: c.ProductName} }

// Start implements pipeline.Component; it does nothing.
func (*Mapper) Start(context.Context) error { return nil }

// Shutdown implements pipeline.Component; it does nothing.
func (*Mapper) Shutdown(context.Context) error { return nil }

// Process maps every event of b in place. It does not block and ignores
// ctx. An event that is not a JSON object fails the batch permanently.
func (m *Mapper) Process(_ context.Context, b pipeline.Batch) (pipeline.Batch, error) {
	for i := range b.Events {
		if err := m.Event(&b.Events[i]); err != nil {
			return b, pipeline.Permanent(fmt.Errorf("ocsf: event %s: %w", b.Events[i].ID, err))
		}
	}
	return b, nil
}

// Event maps one event in place. Events already in OCSF are left alone.
func (m *Mapper) Event(e *pipeline.Event) error {
	if e.Schema == "ocsf" {
		return nil
	}
	in, err := e.Object()
	if err != nil {
		return err
	}
	out := m.Map(in, e.Schema == "openai.organization_log" || in["event"] != nil && in["type"] == nil)
	e.SetObject(out)
	e.Schema = "ocsf"
	return nil
}

// Map returns the OCSF object for an event object in; in becomes part of
// the result (under unmapped) and must not be used afterwards.
func (m *Mapper) Map(in map[string]any, requestLog bool) map[string]any {
	var typ, uid string
	var ts int64
	success := true
	if requestLog {
		typ, uid, ts = decoded.Str(in, "event"), decoded.Str(in, "id"), decoded.Num(in, "created_at")
		if s, ok := in["success"].(bool); ok {
			success = s
		}
	} else {
		typ, uid, ts = decoded.Str(in, "type"), decoded.Str(in, "id"), decoded.Num(in, "effective_at")
		success = !strings.HasSuffix(typ, ".failed")
	}
	out := map[string]any{
		"category_uid": 0, "time": ts * 1000, "message": typ,
		"metadata": map[string]any{
			"version":    Version,
			"uid":        uid,
			"event_code": typ,
			"log_name":   map[bool]string{false: "audit_logs", true: "organization_logs"}[requestLog],
			"product":    map[string]any{"name": m.product, "vendor_name": "OpenAI"},
		},
	}
	if success {
		out["status_id"], out["status"] = 1, "Success"
	} else {
		out["status_id"], out["status"] = 2, "Failure"
	}
	payload, _ := in[typ].(map[string]any)

	var class, activity int
	var activityName string
	switch {
	case requestLog:
		class, activity, activityName = m.requestLog(in, out, typ)
	case strings.HasPrefix(typ, "login.") || strings.HasPrefix(typ, "logout."):
		class = ClassAuthentication
		activity, activityName = 1, "Logon"
		if strings.HasPrefix(typ, "logout.") {
			activity, activityName = 2, "Logoff"
		}
		u := actorUser(in)
		if u == nil {
			u = map[string]any{"name": "unknown"}
		}
		out["user"] = u
		out["service"] = map[string]any{"name": m.product}
		if !success && payload != nil {
			if c := decoded.Str(payload, "error_code"); c != "" {
				out["status_code"] = c
				out["status_detail"] = c
			}
			if msg := decoded.Str(payload, "error_message"); msg != "" {
				out["message"] = msg
			}
		}
	case hasPrefix(typ, "user.", "invite.", "role.assignment.", "tenant.user."):
		class = ClassAccountChange
		activity, activityName = accountActivity(typ)
		out["user"] = targetUser(typ, payload)
		if strings.HasPrefix(typ, "role.assignment.") {
			out["policy"] = map[string]any{"uid": decoded.Str(payload, "id"), "name": "role assignment", "desc": decoded.Str(payload, "resource_type") + " " + decoded.Str(payload, "resource_id")}
		}
	default:
		class = ClassEntityManagement
		activity, activityName = entityActivity(typ)
		out["entity"] = entity(typ, payload)
	}
	if a := actor(in, requestLog); a != nil {
		out["actor"] = a
	}
	if ep := srcEndpoint(in); ep != nil {
		out["src_endpoint"] = ep
	}
	if ua := sessionStr(in, "user_agent"); ua != "" {
		out["http_request"] = map[string]any{"user_agent": ua}
	}
	if p, ok := in["project"].(map[string]any); ok {
		out["cloud"] = map[string]any{"provider": "OpenAI", "project_uid": decoded.Str(p, "id")}
	}
	out["class_uid"], out["class_name"] = class, classNames[class]
	out["category_uid"] = class / 1000
	out["category_name"] = map[int]string{3: "Identity & Access Management", 6: "Application Activity"}[class/1000]
	out["activity_id"], out["activity_name"] = activity, activityName
	out["type_uid"] = class*100 + activity
	out["type_name"] = classNames[class] + ": " + activityName
	sev := severity(in, success)
	out["severity_id"], out["severity"] = sev, severityNames[sev]

	switch m.original {
	case "unmapped":
		out["unmapped"] = in
	case "raw_data":
		if b, err := json.Marshal(in); err == nil {
			out["raw_data"] = string(b)
		}
		if ar, ok := in["auditrelay"]; ok {
			out["unmapped"] = map[string]any{"auditrelay": ar}
		}
	default:
		if ar, ok := in["auditrelay"]; ok {
			out["unmapped"] = map[string]any{"auditrelay": ar}
		}
	}
	return out
}

func (m *Mapper) requestLog(in, out map[string]any, typ string) (int, int, string) {
	switch {
	case strings.HasPrefix(typ, "organization.user."):
		a, n := accountActivity("user." + verb(typ))
		u := map[string]any{"uid": decoded.Str(decoded.Obj(in, "target"), "id")}
		if name := decoded.Str(decoded.Obj(in, "target"), "name"); name != "" {
			u["name"] = name
		}
		out["user"] = u
		return ClassAccountChange, a, n
	case strings.HasPrefix(typ, "organization."):
		a, n := entityActivity(typ)
		t := decoded.Obj(in, "target")
		ent := map[string]any{"type": decoded.Str(t, "type"), "uid": decoded.Str(t, "id"), "name": decoded.Str(t, "name")}
		if ent["name"] == "" {
			ent["name"] = typ
		}
		out["entity"] = ent
		return ClassEntityManagement, a, n
	}
	api := map[string]any{"operation": typ, "service": map[string]any{"name": m.product}}
	if req := decoded.Obj(in, "api_request"); req != nil {
		api["request"] = map[string]any{"uid": decoded.Str(req, "id")}
		if e := decoded.Obj(req, "error"); e != nil {
			api["response"] = map[string]any{"error": decoded.Str(e, "code"), "error_message": decoded.Str(e, "message")}
		}
		if model := decoded.Str(req, "model"); model != "" {
			out["resources"] = []any{map[string]any{"type": "model", "name": model, "uid": model}}
		}
	}
	out["api"] = api
	// Request logs carry no network source: the caller's id stands in so
	// that the class's required src_endpoint names who called.
	out["src_endpoint"] = map[string]any{"uid": decoded.Str(decoded.Obj(in, "actor"), "id")}
	switch v := verb(typ); v {
	case "create":
		return ClassAPIActivity, 1, "Create"
	case "retrieve", "list", "get", "read":
		return ClassAPIActivity, 2, "Read"
	case "update":
		return ClassAPIActivity, 3, "Update"
	case "delete":
		return ClassAPIActivity, 4, "Delete"
	}
	return ClassAPIActivity, 99, "Other"
}

func hasPrefix(s string, ps ...string) bool {
	for _, p := range ps {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func verb(typ string) string { return typ[strings.LastIndexByte(typ, '.')+1:] }

func accountActivity(typ string) (int, string) {
	switch {
	case strings.HasPrefix(typ, "role.assignment."):
		if verb(typ) == "deleted" {
			return 8, "Detach Policy"
		}
		return 7, "Attach Policy"
	}
	switch verb(typ) {
	case "added", "created", "sent":
		return 1, "Create"
	case "accepted", "enabled", "activated":
		return 2, "Enable"
	case "disabled", "deactivated":
		return 5, "Disable"
	case "deleted", "removed":
		return 6, "Delete"
	}
	return 99, "Other"
}

func entityActivity(typ string) (int, string) {
	switch verb(typ) {
	case "created", "added", "registered", "sent", "bound_to_resource":
		return 1, "Create"
	case "updated", "changed":
		return 3, "Update"
	case "deleted", "removed", "archived", "unbound_from_resource":
		return 4, "Delete"
	}
	return 99, "Other"
}

// entity returns the Managed Entity of an entity-management event.
func entity(typ string, p map[string]any) map[string]any {
	kind := typ
	if i := strings.LastIndexByte(typ, '.'); i > 0 {
		kind = typ[:i]
	}
	ent := map[string]any{"type": kind}
	uid, name := decoded.Str(p, "id"), decoded.Str(p, "name")
	if uid == "" {
		uid = decoded.Str(p, "tenant_id")
	}
	for _, list := range []string{"certificates", "configs"} {
		if l, ok := p[list].([]any); ok && len(l) > 0 {
			first, _ := l[0].(map[string]any)
			uid, name = decoded.Str(first, "id"), decoded.Str(first, "name")
		}
	}
	if name == "" {
		name = decoded.Str(decoded.Obj(p, "data"), "name")
	}
	if name == "" {
		name = decoded.Str(decoded.Obj(p, "data"), "group_name")
	}
	if name == "" {
		name = decoded.Str(p, "role_name")
	}
	if uid != "" {
		ent["uid"] = uid
	}
	if name == "" {
		name = kind
	}
	ent["name"] = name
	return ent
}

// targetUser is the user an account-change event is about.
func targetUser(typ string, p map[string]any) map[string]any {
	u := map[string]any{}
	switch {
	case strings.HasPrefix(typ, "role.assignment."):
		u["uid"], u["type"] = decoded.Str(p, "principal_id"), decoded.Str(p, "principal_type")
	case strings.HasPrefix(typ, "invite."):
		u["uid"] = decoded.Str(p, "id")
		if e := decoded.Str(decoded.Obj(p, "data"), "email"); e != "" {
			u["email_addr"] = e
		}
		u["type"] = "invite"
	default:
		u["uid"] = decoded.Str(p, "id")
		if u["uid"] == "" {
			u["uid"] = decoded.Str(p, "tenant_id")
		}
	}
	if u["uid"] == "" {
		u["name"] = "unknown"
		delete(u, "uid")
	}
	if r := decoded.Str(decoded.Obj(p, "data"), "role"); r != "" {
		u["groups"] = []any{map[string]any{"name": r, "type": "role"}}
	}
	return u
}

// actorUser is the session or key user of an audit-log actor.
func actorUser(in map[string]any) map[string]any {
	a := decoded.Obj(in, "actor")
	var u map[string]any
	switch decoded.Str(a, "type") {
	case "session":
		u = decoded.Obj(decoded.Obj(a, "session"), "user")
	case "api_key":
		k := decoded.Obj(a, "api_key")
		if sa := decoded.Obj(k, "service_account"); sa != nil {
			return map[string]any{"uid": decoded.Str(sa, "id"), "type": "service_account"}
		}
		u = decoded.Obj(k, "user")
	}
	if u == nil {
		return nil
	}
	out := map[string]any{"uid": decoded.Str(u, "id")}
	if e := decoded.Str(u, "email"); e != "" {
		out["email_addr"] = e
	}
	if n := decoded.Str(decoded.Obj(decoded.Obj(in, "auditrelay"), "actor"), "name"); n != "" {
		out["name"] = n
	}
	return out
}

func actor(in map[string]any, requestLog bool) map[string]any {
	if requestLog {
		a := decoded.Obj(in, "actor")
		if a == nil {
			return nil
		}
		u := map[string]any{"uid": decoded.Str(a, "id"), "type": decoded.Str(a, "type")}
		if n := decoded.Str(a, "name"); n != "" {
			u["name"] = n
		}
		return map[string]any{"user": u}
	}
	u := actorUser(in)
	if u == nil {
		return nil
	}
	out := map[string]any{"user": u}
	if k := decoded.Obj(decoded.Obj(in, "actor"), "api_key"); k != nil {
		out["authorizations"] = []any{map[string]any{"decision": "api_key", "policy": map[string]any{"uid": decoded.Str(k, "id"), "name": "api_key"}}}
	}
	if s := decoded.Obj(decoded.Obj(in, "actor"), "session"); s != nil {
		out["session"] = map[string]any{"is_remote": true}
		if ja3 := decoded.Str(s, "ja3"); ja3 != "" {
			out["session"].(map[string]any)["uid_alt"] = ja3
		}
	}
	return out
}

func srcEndpoint(in map[string]any) map[string]any {
	s := decoded.Obj(decoded.Obj(in, "actor"), "session")
	ip := decoded.Str(s, "ip_address")
	if ip == "" {
		return nil
	}
	ep := map[string]any{"ip": ip}
	if d := decoded.Obj(s, "ip_address_details"); d != nil {
		loc := map[string]any{}
		for src, dst := range map[string]string{"country": "country", "city": "city", "region": "region"} {
			if v := decoded.Str(d, src); v != "" {
				loc[dst] = v
			}
		}
		if lat, lon := decoded.Str(d, "latitude"), decoded.Str(d, "longitude"); lat != "" && lon != "" {
			loc["lat"], loc["long"] = json.Number(lat), json.Number(lon)
			if !rawjson.IsNumber(lat) || !rawjson.IsNumber(lon) {
				delete(loc, "lat")
				delete(loc, "long")
			}
		}
		if len(loc) > 0 {
			ep["location"] = loc
		}
		if asn := decoded.Str(d, "asn"); asn != "" && rawjson.IsNumber(asn) {
			ep["autonomous_system"] = map[string]any{"number": json.Number(asn)}
		}
	}
	return ep
}

func sessionStr(in map[string]any, key string) string {
	return decoded.Str(decoded.Obj(decoded.Obj(in, "actor"), "session"), key)
}

func severity(in map[string]any, success bool) int {
	if id, ok := decoded.Obj(in, "auditrelay")["severity_id"].(json.Number); ok {
		if n, err := id.Int64(); err == nil && n >= 0 && n <= 6 {
			return int(n)
		}
	}
	if id, ok := decoded.Obj(in, "auditrelay")["severity_id"].(int); ok && id >= 0 && id <= 6 {
		return id
	}
	if !success {
		return 3
	}
	return 1
}
