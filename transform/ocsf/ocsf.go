package ocsf

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/schema/openai"
	"github.com/auditrelay/auditrelay/transform/internal/decoded"
	"github.com/auditrelay/auditrelay/transform/internal/mapping"
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
	return mapping.Batch(b, "ocsf", m.Map)
}

// Map returns the OCSF object for an event of schema: raw is its JSON, in
// the same object decoded (it becomes part of the result, under unmapped,
// and must not be used afterwards). schema/openai says who the actor is,
// the project, the payload's id and error, the target; in gives the rest.
func (m *Mapper) Map(raw []byte, in map[string]any, schema string) map[string]any {
	h := mapping.Read(raw, in, schema)
	typ, ts, f, requestLog, failed := h.Type, h.Time, h.Fields, h.RequestLog, h.Failed
	out := map[string]any{
		"category_uid": 0, "time": ts * 1000, "message": typ, "status_id": 1, "status": "Success",
		"metadata": map[string]any{
			"version":    Version,
			"uid":        decoded.Str(in, "id"),
			"event_code": typ,
			"log_name":   map[bool]string{false: "audit_logs", true: "organization_logs"}[requestLog],
			"product":    map[string]any{"name": m.product, "vendor_name": "OpenAI"},
		},
	}
	if failed {
		out["status_id"], out["status"] = 2, "Failure"
	}
	a, ar, payload := f.Actor(), decoded.Obj(in, "auditrelay"), decoded.Obj(in, typ)

	var class, activity int
	var activityName string
	switch {
	case requestLog:
		class, activity, activityName = m.requestLog(f, in, out, typ, a)
	case strings.HasPrefix(typ, "login.") || strings.HasPrefix(typ, "logout."):
		class = ClassAuthentication
		activity, activityName = 1, "Logon"
		if strings.HasPrefix(typ, "logout.") {
			activity, activityName = 2, "Logoff"
		}
		u := actorUser(a, ar)
		if u == nil {
			u = map[string]any{"name": "unknown"}
		}
		out["user"] = u
		out["service"] = map[string]any{"name": m.product}
		if failed {
			code, msg := f.PayloadError()
			if code != "" {
				out["status_code"] = code
				out["status_detail"] = code
			}
			if msg != "" {
				out["message"] = msg
			}
		}
	case mapping.HasPrefix(typ, "user.", "invite.", "role.assignment.", "tenant.user."):
		class = ClassAccountChange
		activity, activityName = accountActivity(typ)
		id := f.PayloadID()
		out["user"] = targetUser(typ, id, payload)
		if strings.HasPrefix(typ, "role.assignment.") {
			out["policy"] = map[string]any{"uid": id, "name": "role assignment", "desc": decoded.Str(payload, "resource_type") + " " + decoded.Str(payload, "resource_id")}
		}
	default:
		class = ClassEntityManagement
		activity, activityName = entityActivity(typ)
		out["entity"] = entity(typ, f.PayloadID(), payload)
	}
	client := f.Client()
	if act := actor(a, client, ar, requestLog); act != nil {
		out["actor"] = act
	}
	if ep := srcEndpoint(client); ep != nil {
		out["src_endpoint"] = ep
	}
	if ua := client.UserAgent; ua != "" {
		out["http_request"] = map[string]any{"user_agent": ua}
	}
	if id := f.ProjectID(); id != "" {
		out["cloud"] = map[string]any{"provider": "OpenAI", "project_uid": id}
	}
	out["class_uid"], out["class_name"] = class, classNames[class]
	out["category_uid"] = class / 1000
	out["category_name"] = map[int]string{3: "Identity & Access Management", 6: "Application Activity"}[class/1000]
	out["activity_id"], out["activity_name"] = activity, activityName
	out["type_uid"] = class*100 + activity
	out["type_name"] = classNames[class] + ": " + activityName
	sev := severity(ar, failed)
	out["severity_id"], out["severity"] = sev, severityNames[sev]

	if m.original == "unmapped" {
		out["unmapped"] = in
	} else if ar, ok := in["auditrelay"]; ok {
		out["unmapped"] = map[string]any{"auditrelay": ar}
	}
	if m.original == "raw_data" {
		if b, err := json.Marshal(in); err == nil {
			out["raw_data"] = string(b)
		}
	}
	return out
}

func (m *Mapper) requestLog(f openai.Fields, in, out map[string]any, typ string, a openai.Actor) (int, int, string) {
	if strings.HasPrefix(typ, "organization.") {
		kind, id := f.Target()
		// schema/openai reads no target name: it is the target's own field.
		name := decoded.Str(decoded.Obj(in, "target"), "name")
		if strings.HasPrefix(typ, "organization.user.") {
			act, n := accountActivity("user." + verb(typ))
			u := map[string]any{"uid": id}
			if name != "" {
				u["name"] = name
			}
			out["user"] = u
			return ClassAccountChange, act, n
		}
		act, n := entityActivity(typ)
		if name == "" {
			name = typ
		}
		out["entity"] = map[string]any{"type": kind, "uid": id, "name": name}
		return ClassEntityManagement, act, n
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
	out["src_endpoint"] = map[string]any{"uid": a.RequestID}
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

// entity returns the Managed Entity of an entity-management event whose
// payload p has the id id.
func entity(typ, id string, p map[string]any) map[string]any {
	kind := typ
	if i := strings.LastIndexByte(typ, '.'); i > 0 {
		kind = typ[:i]
	}
	ent := map[string]any{"type": kind}
	uid, name := id, decoded.Str(p, "name")
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

// targetUser is the user an account-change event is about; its payload p
// has the id id.
func targetUser(typ, id string, p map[string]any) map[string]any {
	u := map[string]any{"uid": id}
	switch {
	case strings.HasPrefix(typ, "role.assignment."):
		u["uid"], u["type"] = decoded.Str(p, "principal_id"), decoded.Str(p, "principal_type")
	case strings.HasPrefix(typ, "invite."):
		if e := decoded.Str(decoded.Obj(p, "data"), "email"); e != "" {
			u["email_addr"] = e
		}
		u["type"] = "invite"
	case id == "":
		u["uid"] = decoded.Str(p, "tenant_id")
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

// actorUser is the person or service account behind an audit log's actor,
// nil when it names neither; ar (enrichment) gives the person's name.
func actorUser(a openai.Actor, ar map[string]any) map[string]any {
	if a.IsServiceAccount() {
		return map[string]any{"uid": a.ServiceAccountID, "type": "service_account"}
	}
	if a.UserID == "" && a.Email == "" {
		return nil
	}
	u := map[string]any{"uid": a.UserID}
	if a.Email != "" {
		u["email_addr"] = a.Email
	}
	if n := decoded.Str(decoded.Obj(ar, "actor"), "name"); n != "" {
		u["name"] = n
	}
	return u
}

// actor is who did the event: a request log's caller, or the person or
// service account of an audit log with the key or session they used.
func actor(a openai.Actor, c openai.Client, ar map[string]any, requestLog bool) map[string]any {
	if requestLog {
		if a == (openai.Actor{}) {
			return nil
		}
		u := map[string]any{"uid": a.RequestID, "type": a.Kind}
		if a.Name != "" {
			u["name"] = a.Name
		}
		return map[string]any{"user": u}
	}
	u := actorUser(a, ar)
	if u == nil {
		return nil
	}
	out := map[string]any{"user": u}
	if a.KeyID != "" {
		out["authorizations"] = []any{map[string]any{"decision": "api_key", "policy": map[string]any{"uid": a.KeyID, "name": "api_key"}}}
	}
	if a.Kind == "session" {
		s := map[string]any{"is_remote": true}
		if c.JA3 != "" {
			s["uid_alt"] = c.JA3
		}
		out["session"] = s
	}
	return out
}

// srcEndpoint is where a session came from, nil without an address.
func srcEndpoint(c openai.Client) map[string]any {
	if c.IP == "" {
		return nil
	}
	ep := map[string]any{"ip": c.IP}
	loc := map[string]any{}
	for k, v := range map[string]string{"country": c.Country, "city": c.City, "region": c.Region} {
		if v != "" {
			loc[k] = v
		}
	}
	if c.Latitude != "" && c.Longitude != "" {
		loc["lat"], loc["long"] = json.Number(c.Latitude), json.Number(c.Longitude)
	}
	if len(loc) > 0 {
		ep["location"] = loc
	}
	if c.ASN != "" {
		ep["autonomous_system"] = map[string]any{"number": json.Number(c.ASN)}
	}
	return ep
}

// severity is the severity_id enrichment (ar) gave the event, else medium
// for a failure and informational otherwise.
func severity(ar map[string]any, failed bool) int {
	if id, ok := ar["severity_id"].(json.Number); ok {
		if n, err := id.Int64(); err == nil && n >= 0 && n <= 6 {
			return int(n)
		}
	}
	if failed {
		return 3
	}
	return 1
}
