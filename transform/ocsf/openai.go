package ocsf

import (
	"strings"

	"github.com/auditrelay/auditrelay/schema/openai"
	"github.com/auditrelay/auditrelay/transform/internal/decoded"
	"github.com/auditrelay/auditrelay/transform/internal/mapping"
)

// openai maps an OpenAI audit log or request log (README.md has the
// table). schema/openai reads the actor, the session's network side, the
// project, the payload's id and error, the user an event is about and
// the severity; a payload's own names and lists, which it does not read,
// come from the decoded object in.
func (m *Mapper) openai(raw []byte, in map[string]any, schema string) record {
	h := mapping.Read(raw, in, schema)
	typ, f := h.Type, h.Fields
	logName := "audit_logs"
	if h.RequestLog {
		logName = "organization_logs"
	}
	r := newRecord(h.Time*1000, decoded.Str(in, "id"), typ, logName, m.product, "OpenAI")
	a, client := f.Actor(), f.Client()
	payload := decoded.Obj(in, typ)

	hasActor := true
	switch {
	case h.RequestLog:
		m.openaiRequestLog(r, &f, in, typ, a)
	case mapping.HasPrefix(typ, "login.", "logout."):
		act := actLogon
		if strings.HasPrefix(typ, "logout.") {
			act = actLogoff
		}
		r.class(ClassAuthentication, act, "")
		u := actorUser(a, in)
		if u == nil {
			u = unknownUser()
		}
		r["user"] = u
		r["service"] = map[string]any{"name": m.product}
		r["is_remote"] = true
	case strings.HasPrefix(typ, "role.assignment."):
		act := actAssign
		if lastWord(typ, '.') == "deleted" {
			act = actRevoke
		}
		r.class(ClassUserAccess, act, "")
		u := person(f.TargetUser(false), "", "")
		if u == nil { // a group or a service account holds the role
			u = map[string]any{"uid": decoded.Str(payload, "principal_id")}
		}
		setStr(u, "type", decoded.Str(payload, "principal_type"))
		if u["uid"] == "" {
			u = unknownUser()
		}
		r["user"] = u
		r["privileges"] = []any{orDefault(f.PayloadID(), "role")}
		if id := decoded.Str(payload, "resource_id"); id != "" {
			r["resources"] = []any{map[string]any{"uid": id, "type": decoded.Str(payload, "resource_type")}}
		}
	case mapping.HasPrefix(typ, "user.", "invite.", "tenant.user."):
		r.class(ClassAccountChange, accountActivity(lastWord(typ, '.')), title(lastWord(typ, '.')))
		r["user"] = openaiTargetUser(typ, &f, payload)
	case mapping.HasPrefix(typ, "api_key.", "tenant.admin_api_key."):
		r.class(ClassAccountChange, accountActivity(lastWord(typ, '.')), title(lastWord(typ, '.')))
		id := orDefault(f.PayloadID(), "unknown")
		r["user"] = map[string]any{"uid": id, "type": "API Key", "type_id": 99,
			"programmatic_credentials": []any{map[string]any{"uid": id, "type": "API Key"}}}
	case strings.HasPrefix(typ, "service_account."):
		r.class(ClassAccountChange, accountActivity(lastWord(typ, '.')), title(lastWord(typ, '.')))
		r["user"] = map[string]any{"uid": orDefault(f.PayloadID(), "unknown"), "type": "Service", "type_id": 4}
	case mapping.HasPrefix(typ, "group.", "tenant.group."):
		act := map[string]int{"created": actGroupCreate, "deleted": actGroupDelete, "added": actAddUser, "removed": actRemoveUser}[lastWord(typ, '.')]
		r.class(ClassGroupManagement, act, title(lastWord(typ, '.')))
		g := map[string]any{}
		setStr(g, "uid", f.PayloadID())
		setStr(g, "name", payloadName(payload))
		if len(g) == 0 {
			g["name"] = "unknown"
		}
		r["group"] = g
	case mapping.HasPrefix(typ, "project.", "organization.", "ip_allowlist.", "certificate.", "certificates.", "rate_limit.",
		"scim.", "checkpoint.", "external_key.", "resource.", "tunnel.", "workload_identity_provider", "role.", "tenant."):
		r.class(ClassEntityManagement, verbActivity(lastWord(typ, '.'), false), title(lastWord(typ, '.')))
		r["entity"] = openaiEntity(typ, f.PayloadID(), payload)
	default:
		// A type the mapping does not know: the generic class, the
		// original under unmapped. The host profile carries the actor.
		r.class(ClassBase, actOther, typ)
		hasActor = false
		if act := openaiActor(a, client, in, false); act != nil {
			r["actor"] = act
			r.profile("host")
		}
	}
	if h.Failed && !h.RequestLog {
		code, msg := f.PayloadError()
		r.fail(code, msg)
	}
	if hasActor {
		if act := openaiActor(a, client, in, h.RequestLog); act != nil {
			r["actor"] = act
		}
		if ep := endpoint(client.IP, client.Country, client.Region, client.City, client.Latitude, client.Longitude, client.ASN); ep != nil {
			r["src_endpoint"] = ep
		}
		if client.UserAgent != "" {
			r["http_request"] = map[string]any{"user_agent": client.UserAgent}
		}
	}
	if id, name := f.Project(); id != "" {
		r.cloud("OpenAI", id, name, "OpenAI Project")
	}
	lvl := f.AnnotatedSeverity()
	if lvl == "" {
		lvl = openai.Severity(nil, typ, h.Failed)
	}
	r.severity(lvl)
	return r
}

// openaiRequestLog maps a request log: organization.user.* to Account
// Change, other organization.* to Entity Management, API calls to API
// Activity.
func (m *Mapper) openaiRequestLog(r record, f *openai.Fields, in map[string]any, typ string, a openai.Actor) {
	if strings.HasPrefix(typ, "organization.") {
		kind, id := f.Target()
		// schema/openai reads no target name: it is the target's own field.
		name := decoded.Str(decoded.Obj(in, "target"), "name")
		if strings.HasPrefix(typ, "organization.user.") {
			r.class(ClassAccountChange, accountActivity(lastWord(typ, '.')), title(lastWord(typ, '.')))
			u := person(f.TargetUser(true), "", "")
			if u == nil {
				u = unknownUser()
			}
			setStr(u, "name", name)
			r["user"] = u
		} else {
			r.class(ClassEntityManagement, verbActivity(lastWord(typ, '.'), false), title(lastWord(typ, '.')))
			e := map[string]any{"type": orDefault(kind, typ), "name": orDefault(name, typ)}
			setStr(e, "uid", id)
			r["entity"] = e
		}
		if f.Failed() {
			r.fail("", "")
		}
		return
	}
	r.class(ClassAPIActivity, verbActivity(lastWord(typ, '.'), true), title(lastWord(typ, '.')))
	api := map[string]any{"operation": typ, "service": map[string]any{"name": m.product}}
	if req := decoded.Obj(in, "api_request"); req != nil {
		if id := decoded.Str(req, "id"); id != "" {
			api["request"] = map[string]any{"uid": id}
		}
		if e := decoded.Obj(req, "error"); e != nil {
			resp := map[string]any{}
			setStr(resp, "error", decoded.Str(e, "code"))
			setStr(resp, "error_message", decoded.Str(e, "message"))
			api["response"] = resp
		}
		if model := decoded.Str(req, "model"); model != "" {
			r["resources"] = []any{map[string]any{"type": "model", "name": model, "uid": model}}
			r["ai_model"] = map[string]any{"name": model, "uid": model, "ai_provider": "OpenAI"}
			r.profile("ai_operation")
		}
	}
	r["api"] = api
	// Request logs carry no network source: the caller stands in for the
	// src_endpoint the class requires.
	r["src_endpoint"] = standIn("", a.RequestID, a.Kind)
	if f.Failed() {
		r.fail("", "")
	}
	if a == (openai.Actor{}) { // the class requires an actor
		r["actor"] = map[string]any{"user": unknownUser()}
	}
}

// accountActivity is the Account Change activity an OpenAI verb names.
func accountActivity(verb string) int {
	switch verb {
	case "added", "created", "sent":
		return actCreate
	case "accepted", "enabled", "activated":
		return actEnable
	case "disabled", "deactivated":
		return actDisable
	case "deleted", "removed":
		return actDelete
	}
	return actOther
}

// payloadName is the name an audit log's payload gives its object.
func payloadName(p map[string]any) string {
	for _, n := range []string{decoded.Str(p, "name"), decoded.Str(decoded.Obj(p, "data"), "name"),
		decoded.Str(decoded.Obj(p, "data"), "group_name"), decoded.Str(p, "role_name")} {
		if n != "" {
			return n
		}
	}
	return ""
}

// openaiEntity is the Managed Entity of an entity-management event whose
// payload p has the id id.
func openaiEntity(typ, id string, p map[string]any) map[string]any {
	kind := typ[:max(strings.LastIndexByte(typ, '.'), 0)]
	uid, name := id, payloadName(p)
	if uid == "" {
		uid = decoded.Str(p, "tenant_id")
	}
	for _, list := range []string{"certificates", "configs"} {
		if l, ok := p[list].([]any); ok && len(l) > 0 {
			first, _ := l[0].(map[string]any)
			uid, name = decoded.Str(first, "id"), decoded.Str(first, "name")
		}
	}
	ent := map[string]any{"type": kind, "name": orDefault(name, kind)}
	setStr(ent, "uid", uid)
	return ent
}

// openaiTargetUser is the user an account-change event is about.
func openaiTargetUser(typ string, f *openai.Fields, p map[string]any) map[string]any {
	var u map[string]any
	if strings.HasPrefix(typ, "invite.") {
		// The invited person has no user id yet: the address names them,
		// else the invitation's id.
		if u = person("", decoded.Str(decoded.Obj(p, "data"), "email"), "Invite"); u == nil {
			u = person(f.PayloadID(), "", "Invite")
		}
	} else {
		id := f.TargetUser(false)
		if id == "" {
			id = f.PayloadID()
		}
		if id == "" {
			id = decoded.Str(p, "tenant_id")
		}
		u = person(id, "", "")
	}
	if u == nil {
		u = unknownUser()
	}
	if role := decoded.Str(decoded.Obj(p, "data"), "role"); role != "" {
		u["groups"] = []any{map[string]any{"name": role, "type": "role"}}
	}
	return u
}

// actorUser is the person or service account behind an audit log's
// actor, nil when it names neither; enrichment (in's auditrelay member)
// gives the person's name.
func actorUser(a openai.Actor, in map[string]any) map[string]any {
	if a.IsServiceAccount() {
		return map[string]any{"uid": a.ServiceAccountID, "type": "Service", "type_id": 4}
	}
	u := person(a.UserID, a.Email, "")
	if u == nil {
		return nil
	}
	if n := decoded.Str(decoded.Obj(decoded.Obj(in, "auditrelay"), "actor"), "name"); n != "" {
		u["name"] = n
	}
	return u
}

// openaiActor is who did the event: a request log's caller, or the person
// or service account of an audit log with the key or session they used.
func openaiActor(a openai.Actor, c openai.Client, in map[string]any, requestLog bool) map[string]any {
	if requestLog {
		if a == (openai.Actor{}) {
			return nil
		}
		u := map[string]any{"uid": orDefault(a.RequestID, "unknown"), "type": a.Kind}
		setStr(u, "name", a.Name)
		if a.Email != "" && emailLike(a.Email) {
			u["email_addr"] = a.Email
		}
		return map[string]any{"user": u}
	}
	u := actorUser(a, in)
	if u == nil {
		return nil
	}
	if a.KeyID != "" {
		u["programmatic_credentials"] = []any{map[string]any{"uid": a.KeyID, "type": "API Key"}}
	}
	out := map[string]any{"user": u}
	if a.Kind == "session" {
		out["session"] = map[string]any{"is_remote": true}
	}
	return out
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
