package ecs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/transform/internal/rawjson"
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
	for i := range b.Events {
		e := &b.Events[i]
		if e.Schema == "ecs" {
			continue
		}
		in, err := e.Object()
		if err != nil {
			return b, pipeline.Permanent(fmt.Errorf("ecs: event %s: %w", e.ID, err))
		}
		e.SetObject(m.Map(in, e.Schema == "openai.organization_log" || in["event"] != nil && in["type"] == nil))
		e.Schema = "ecs"
	}
	return b, nil
}

// Map returns the ECS document for an event object in, which becomes part
// of the result and must not be used afterwards.
func (m *Mapper) Map(in map[string]any, requestLog bool) map[string]any {
	typ, ts := str(in, "type"), num(in, "effective_at")
	success := !strings.HasSuffix(typ, ".failed")
	if requestLog {
		typ, ts = str(in, "event"), num(in, "created_at")
		if s, ok := in["success"].(bool); ok {
			success = s
		}
	}
	ar := obj(in, "auditrelay")
	cat, kinds := classify(typ, requestLog)
	ev := map[string]any{"kind": "event", "action": typ, "category": cat, "type": kinds,
		"id": str(in, "id"), "dataset": m.cfg.Dataset, "module": "openai", "provider": "openai"}
	if success {
		ev["outcome"] = "success"
	} else {
		ev["outcome"] = "failure"
	}
	if s, ok := ar["severity_id"]; ok {
		ev["severity"] = s
	}
	if t := str(ar, "ingested_at"); t != "" {
		ev["ingested"] = t
	}
	out := map[string]any{
		"@timestamp": time.Unix(ts, 0).UTC().Format(time.RFC3339),
		"ecs":        map[string]any{"version": Version},
		"event":      ev,
		"message":    typ,
		"observer":   map[string]any{"vendor": "OpenAI", "product": "API Platform", "type": "audit"},
	}
	var relIP, relUser []any
	user := map[string]any{}
	actor := obj(in, "actor")
	if requestLog {
		if id := str(actor, "id"); id != "" {
			user["id"] = id
			relUser = append(relUser, id)
		}
		if n := str(actor, "name"); n != "" {
			user["name"] = n
		}
	} else {
		var u map[string]any
		switch str(actor, "type") {
		case "session":
			s := obj(actor, "session")
			u = obj(s, "user")
			if ip := str(s, "ip_address"); ip != "" {
				src := map[string]any{"ip": ip}
				relIP = append(relIP, ip)
				if d := obj(s, "ip_address_details"); d != nil {
					geo := map[string]any{}
					for k, v := range map[string]string{"country": "country_iso_code", "city": "city_name", "region": "region_name", "region_code": "region_iso_code"} {
						if x := str(d, k); x != "" {
							geo[v] = x
						}
					}
					if lat, lon := str(d, "latitude"), str(d, "longitude"); isNum(lat) && isNum(lon) {
						geo["location"] = map[string]any{"lat": json.Number(lat), "lon": json.Number(lon)}
					}
					if len(geo) > 0 {
						src["geo"] = geo
					}
					if asn := str(d, "asn"); isNum(asn) {
						src["as"] = map[string]any{"number": json.Number(asn)}
					}
				}
				out["source"] = src
			}
			if ua := str(s, "user_agent"); ua != "" {
				out["user_agent"] = map[string]any{"original": ua}
			}
			if ja3 := str(s, "ja3"); ja3 != "" {
				out["tls"] = map[string]any{"client": map[string]any{"ja3": ja3}}
			}
		case "api_key":
			k := obj(actor, "api_key")
			u = obj(k, "user")
			if sa := obj(k, "service_account"); sa != nil {
				u = map[string]any{"id": str(sa, "id")}
			}
		}
		if id := str(u, "id"); id != "" {
			user["id"] = id
			relUser = append(relUser, id)
		}
		if e := str(u, "email"); e != "" {
			user["email"] = e
			relUser = append(relUser, e)
		}
		if p := obj(in, typ); p != nil && !success {
			if msg := str(p, "error_message"); msg != "" {
				out["message"] = msg
			}
			if c := str(p, "error_code"); c != "" {
				out["error"] = map[string]any{"code": c, "message": str(p, "error_message")}
			}
		}
	}
	if n := str(obj(ar, "actor"), "name"); n != "" {
		user["name"] = n
	}
	if tid := targetUser(typ, in, requestLog); tid != "" {
		user["target"] = map[string]any{"id": tid}
		relUser = append(relUser, tid)
	}
	if len(user) > 0 {
		out["user"] = user
	}
	if len(relIP)+len(relUser) > 0 {
		rel := map[string]any{}
		if len(relIP) > 0 {
			rel["ip"] = relIP
		}
		if len(relUser) > 0 {
			rel["user"] = relUser
		}
		out["related"] = rel
	}
	if p := obj(in, "project"); p != nil {
		out["cloud"] = map[string]any{"provider": "openai", "project": map[string]any{"id": str(p, "id"), "name": str(p, "name")}}
	}
	if l := obj(ar, "labels"); l != nil {
		out["labels"] = l
	}
	if m.cfg.KeepOriginal {
		out["openai"] = in
	} else if ar != nil {
		out["auditrelay"] = ar
	}
	return out
}

func targetUser(typ string, in map[string]any, requestLog bool) string {
	if requestLog {
		if t := obj(in, "target"); str(t, "type") == "user" {
			return str(t, "id")
		}
		return ""
	}
	p := obj(in, typ)
	switch {
	case strings.HasPrefix(typ, "user."):
		return str(p, "id")
	case strings.HasPrefix(typ, "role.assignment.") && str(p, "principal_type") == "user":
		return str(p, "principal_id")
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
	case hasPrefix(t, "api_key.", "service_account.", "certificate", "ip_allowlist.", "scim.", "external_key.",
		"workload_identity_provider", "tenant.admin_api_key.", "tenant.sso_connection.", "tenant.policy.", "checkpoint.permission."):
		return []any{"iam", "configuration"}, []any{change}
	case requestLog && !strings.HasPrefix(typ, "organization."):
		return []any{"web"}, []any{"access"}
	}
	return []any{"configuration"}, []any{change}
}

func hasPrefix(s string, ps ...string) bool {
	for _, p := range ps {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func isNum(s string) bool { return rawjson.IsNumber(s) }

func obj(m map[string]any, k string) map[string]any {
	v, _ := m[k].(map[string]any)
	return v
}

func str(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

func num(m map[string]any, k string) int64 {
	if v, ok := m[k].(json.Number); ok {
		if n, err := v.Int64(); err == nil {
			return n
		}
		if f, err := v.Float64(); err == nil && f > -1e15 && f < 1e15 {
			return int64(f)
		}
	}
	return 0
}
