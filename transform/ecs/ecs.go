package ecs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/internal/rawjson"
	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/transform/internal/decoded"
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
	typ, ts := decoded.Str(in, "type"), decoded.Num(in, "effective_at")
	success := !strings.HasSuffix(typ, ".failed")
	if requestLog {
		typ, ts = decoded.Str(in, "event"), decoded.Num(in, "created_at")
		if s, ok := in["success"].(bool); ok {
			success = s
		}
	}
	ar := decoded.Obj(in, "auditrelay")
	cat, kinds := classify(typ, requestLog)
	ev := map[string]any{"kind": "event", "action": typ, "category": cat, "type": kinds,
		"id": decoded.Str(in, "id"), "dataset": m.cfg.Dataset, "module": "openai", "provider": "openai"}
	if success {
		ev["outcome"] = "success"
	} else {
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
	var relIP, relUser []any
	user := map[string]any{}
	actor := decoded.Obj(in, "actor")
	if requestLog {
		if id := decoded.Str(actor, "id"); id != "" {
			user["id"] = id
			relUser = append(relUser, id)
		}
		if n := decoded.Str(actor, "name"); n != "" {
			user["name"] = n
		}
	} else {
		var u map[string]any
		switch decoded.Str(actor, "type") {
		case "session":
			s := decoded.Obj(actor, "session")
			u = decoded.Obj(s, "user")
			if ip := decoded.Str(s, "ip_address"); ip != "" {
				src := map[string]any{"ip": ip}
				relIP = append(relIP, ip)
				if d := decoded.Obj(s, "ip_address_details"); d != nil {
					geo := map[string]any{}
					for k, v := range map[string]string{"country": "country_iso_code", "city": "city_name", "region": "region_name", "region_code": "region_iso_code"} {
						if x := decoded.Str(d, k); x != "" {
							geo[v] = x
						}
					}
					if lat, lon := decoded.Str(d, "latitude"), decoded.Str(d, "longitude"); rawjson.IsNumber(lat) && rawjson.IsNumber(lon) {
						geo["location"] = map[string]any{"lat": json.Number(lat), "lon": json.Number(lon)}
					}
					if len(geo) > 0 {
						src["geo"] = geo
					}
					if asn := decoded.Str(d, "asn"); rawjson.IsNumber(asn) {
						src["as"] = map[string]any{"number": json.Number(asn)}
					}
				}
				out["source"] = src
			}
			if ua := decoded.Str(s, "user_agent"); ua != "" {
				out["user_agent"] = map[string]any{"original": ua}
			}
			if ja3 := decoded.Str(s, "ja3"); ja3 != "" {
				out["tls"] = map[string]any{"client": map[string]any{"ja3": ja3}}
			}
		case "api_key":
			k := decoded.Obj(actor, "api_key")
			u = decoded.Obj(k, "user")
			if sa := decoded.Obj(k, "service_account"); sa != nil {
				u = map[string]any{"id": decoded.Str(sa, "id")}
			}
		}
		if id := decoded.Str(u, "id"); id != "" {
			user["id"] = id
			relUser = append(relUser, id)
		}
		if e := decoded.Str(u, "email"); e != "" {
			user["email"] = e
			relUser = append(relUser, e)
		}
		if p := decoded.Obj(in, typ); p != nil && !success {
			if msg := decoded.Str(p, "error_message"); msg != "" {
				out["message"] = msg
			}
			if c := decoded.Str(p, "error_code"); c != "" {
				out["error"] = map[string]any{"code": c, "message": decoded.Str(p, "error_message")}
			}
		}
	}
	if n := decoded.Str(decoded.Obj(ar, "actor"), "name"); n != "" {
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
	if p := decoded.Obj(in, "project"); p != nil {
		out["cloud"] = map[string]any{"provider": "openai", "project": map[string]any{"id": decoded.Str(p, "id"), "name": decoded.Str(p, "name")}}
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

func targetUser(typ string, in map[string]any, requestLog bool) string {
	if requestLog {
		if t := decoded.Obj(in, "target"); decoded.Str(t, "type") == "user" {
			return decoded.Str(t, "id")
		}
		return ""
	}
	p := decoded.Obj(in, typ)
	switch {
	case strings.HasPrefix(typ, "user."):
		return decoded.Str(p, "id")
	case strings.HasPrefix(typ, "role.assignment.") && decoded.Str(p, "principal_type") == "user":
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
