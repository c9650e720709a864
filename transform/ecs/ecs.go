package ecs

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/schema/openai"
	"github.com/auditrelay/auditrelay/transform/internal/decoded"
	"github.com/auditrelay/auditrelay/transform/internal/mapping"
)

// Version is the ECS version the output follows.
const Version = "8.11.0"

// Mapper is the ecs transform. It is safe for concurrent use.
type Mapper struct{ cfg Config }

var _ pipeline.Transform = (*Mapper)(nil)

// New returns a mapper for a validated config.
func New(c *Config) *Mapper { return &Mapper{cfg: *c} }

// Start implements pipeline.Component; it does nothing.
func (*Mapper) Start(context.Context) error { return nil }

// Shutdown implements pipeline.Component; it does nothing.
func (*Mapper) Shutdown(context.Context) error { return nil }

// Process maps every event of b in place. It does not block and ignores
// ctx. An event that is not a JSON object fails the batch permanently.
func (m *Mapper) Process(_ context.Context, b pipeline.Batch) (pipeline.Batch, error) {
	return mapping.Batch(b, "ecs", m.Map)
}

// Map returns the ECS document for an event of schema: raw is its JSON, in
// the same object decoded (it becomes part of the result and must not be
// used afterwards). schema/openai says who the actor is, the project and
// the payload's id and error; in gives the rest.
func (m *Mapper) Map(raw []byte, in map[string]any, schema string) map[string]any {
	h := mapping.Read(raw, in, schema)
	typ, ts, f, requestLog, failed := h.Type, h.Time, h.Fields, h.RequestLog, h.Failed
	ar := decoded.Obj(in, "auditrelay")
	cat, kinds := classify(typ, requestLog)
	ev := map[string]any{"kind": "event", "action": typ, "category": cat, "type": kinds, "outcome": "success",
		"id": decoded.Str(in, "id"), "dataset": m.cfg.Dataset, "module": "openai", "provider": "openai"}
	if failed {
		ev["outcome"] = "failure"
	}
	if s, ok := ar["severity_id"]; ok {
		ev["severity"] = s
	}
	if t := decoded.Str(ar, "ingested_at"); t != "" {
		ev["ingested"] = t
	}
	out := map[string]any{
		"@timestamp": time.Unix(ts, 0).UTC().Format(time.RFC3339),
		"ecs":        map[string]any{"version": Version},
		"event":      ev,
		"message":    typ,
		"observer":   map[string]any{"vendor": "OpenAI", "product": "API Platform", "type": "audit"},
	}
	user, related := map[string]any{}, map[string]any{}
	var relUser []any
	addUser := func(k, v string) {
		if v != "" {
			user[k] = v
			relUser = append(relUser, v)
		}
	}
	a := f.Actor()
	if requestLog {
		addUser("id", a.RequestID)
		if a.Name != "" {
			user["name"] = a.Name
		}
	} else {
		// A service account's key stands for the account, not a person.
		id, email := a.UserID, a.Email
		if a.IsServiceAccount() {
			id, email = a.ServiceAccountID, ""
		}
		addUser("id", id)
		addUser("email", email)
		c := f.Client()
		if src := source(c); src != nil {
			out["source"] = src
			related["ip"] = []any{c.IP}
		}
		if c.UserAgent != "" {
			out["user_agent"] = map[string]any{"original": c.UserAgent}
		}
		if c.JA3 != "" {
			out["tls"] = map[string]any{"client": map[string]any{"ja3": c.JA3}}
		}
		if failed {
			code, msg := f.PayloadError()
			if msg != "" {
				out["message"] = msg
			}
			if code != "" {
				out["error"] = map[string]any{"code": code, "message": msg}
			}
		}
	}
	if n := decoded.Str(decoded.Obj(ar, "actor"), "name"); n != "" {
		user["name"] = n
	}
	if tid := targetUser(f, in, typ, requestLog); tid != "" {
		user["target"] = map[string]any{"id": tid}
		relUser = append(relUser, tid)
	}
	if len(user) > 0 {
		out["user"] = user
	}
	if len(relUser) > 0 {
		related["user"] = relUser
	}
	if len(related) > 0 {
		out["related"] = related
	}
	if id, name := f.Project(); id != "" || name != "" {
		out["cloud"] = map[string]any{"provider": "openai", "project": map[string]any{"id": id, "name": name}}
	}
	if l := decoded.Obj(ar, "labels"); l != nil {
		out["labels"] = l
	}
	if m.cfg.KeepOriginal {
		out["openai"] = in
	} else if ar != nil {
		out["auditrelay"] = ar
	}
	return out
}

// source is the ECS source of a session's client, nil without an address.
func source(c openai.Client) map[string]any {
	if c.IP == "" {
		return nil
	}
	src := map[string]any{"ip": c.IP}
	geo := map[string]any{}
	for k, v := range map[string]string{"country_iso_code": c.Country, "city_name": c.City, "region_name": c.Region, "region_iso_code": c.RegionCode} {
		if v != "" {
			geo[k] = v
		}
	}
	if c.Latitude != "" && c.Longitude != "" {
		geo["location"] = map[string]any{"lat": json.Number(c.Latitude), "lon": json.Number(c.Longitude)}
	}
	if len(geo) > 0 {
		src["geo"] = geo
	}
	if c.ASN != "" {
		src["as"] = map[string]any{"number": json.Number(c.ASN)}
	}
	return src
}

// targetUser is the id of the user an event is about.
func targetUser(f openai.Fields, in map[string]any, typ string, requestLog bool) string {
	if requestLog {
		if kind, id := f.Target(); kind == "user" {
			return id
		}
		return ""
	}
	switch p := decoded.Obj(in, typ); {
	case strings.HasPrefix(typ, "user."):
		return f.PayloadID()
	case strings.HasPrefix(typ, "role.assignment.") && decoded.Str(p, "principal_type") == "user":
		// A role assignment names its principal in fields of its own.
		return decoded.Str(p, "principal_id")
	}
	return ""
}

// classify returns event.category and event.type (ECS allowed values).
func classify(typ string, requestLog bool) ([]any, []any) {
	v := typ[strings.LastIndexByte(typ, '.')+1:]
	change := "change"
	switch v {
	case "created", "added", "sent", "registered", "create", "activated", "enabled", "bound_to_resource":
		change = "creation"
	case "deleted", "removed", "archived", "delete", "deactivated", "disabled", "unbound_from_resource":
		change = "deletion"
	}
	t := strings.TrimPrefix(typ, "organization.")
	switch {
	case strings.HasPrefix(typ, "login."):
		return []any{"authentication", "session"}, []any{"start"}
	case strings.HasPrefix(typ, "logout."):
		return []any{"authentication", "session"}, []any{"end"}
	case strings.HasPrefix(t, "user.") || strings.HasPrefix(t, "invite.") || strings.HasPrefix(t, "tenant.user."):
		return []any{"iam"}, []any{"user", change}
	case strings.HasPrefix(t, "group.") || strings.HasPrefix(t, "tenant.group."):
		return []any{"iam"}, []any{"group", change}
	case strings.HasPrefix(t, "role."):
		return []any{"iam"}, []any{"admin", change}
	case mapping.HasPrefix(t, "api_key.", "service_account.", "certificate", "ip_allowlist.", "scim.", "external_key.",
		"workload_identity_provider", "tenant.admin_api_key.", "tenant.sso_connection.", "tenant.policy.", "checkpoint.permission."):
		return []any{"iam", "configuration"}, []any{change}
	case requestLog && !strings.HasPrefix(typ, "organization."):
		return []any{"web"}, []any{"access"}
	}
	return []any{"configuration"}, []any{change}
}
