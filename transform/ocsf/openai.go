package ocsf

import (
	"strings"

	"github.com/auditrelay/auditrelay/schema/openai"
	"github.com/auditrelay/auditrelay/transform/internal/decoded"
	"github.com/auditrelay/auditrelay/transform/internal/mapping"
)

// openai maps an OpenAI audit log or request log (README.md has the
// table). schema/openai reads everything it uses: the actor, the
// session's network side, the project, what the payload names and its
// error, the user an event is about, a request log's target and request,
// the severity. in is read only for the name enrich gave the actor (its
// auditrelay member).
func (m *Mapper) openai(raw []byte, in map[string]any, schema string) record {
	h := mapping.Read(raw, in, schema)
	typ, f := h.Type, h.Fields
	logName := "audit_logs"
	if h.RequestLog {
		logName = "organization_logs"
	}
	r := newRecord(h.Time*1000, f.ID(), typ, logName, m.product, "OpenAI")
	a, client, p := f.Actor(), f.Client(), f.Payload()

	hasActor := true
	switch {
	case h.RequestLog:
		m.openaiRequestLog(r, &f, typ, a)
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
		// The principal: a user (TargetUser), else the group or service
		// account that holds the role.
		kind, id := f.Principal()
		u := person(orDefault(f.TargetUser(false), id), "", kind)
		r["user"] = userOr(u)
		r["privileges"] = []any{orDefault(p.ID, "role")}
		if p.ResourceID != "" {
			r["resources"] = []any{map[string]any{"uid": p.ResourceID, "type": p.ResourceKind}}
		}
	case mapping.HasPrefix(typ, "user.", "invite.", "tenant.user."):
		r.class(ClassAccountChange, accountActivity(lastWord(typ, '.')), title(lastWord(typ, '.')))
		r["user"] = openaiTargetUser(typ, &f, p)
	case mapping.HasPrefix(typ, "api_key.", "tenant.admin_api_key."):
		r.class(ClassAccountChange, accountActivity(lastWord(typ, '.')), title(lastWord(typ, '.')))
		id := orDefault(p.ID, "unknown")
		r["user"] = map[string]any{"uid": id, "type": "API Key", "type_id": 99,
			"programmatic_credentials": []any{map[string]any{"uid": id, "type": "API Key"}}}
	case strings.HasPrefix(typ, "service_account."):
		r.class(ClassAccountChange, accountActivity(lastWord(typ, '.')), title(lastWord(typ, '.')))
		r["user"] = map[string]any{"uid": orDefault(p.ID, "unknown"), "type": "Service", "type_id": 4}
	case mapping.HasPrefix(typ, "group.", "tenant.group."):
		act := map[string]int{"created": actGroupCreate, "deleted": actGroupDelete, "added": actAddUser, "removed": actRemoveUser}[lastWord(typ, '.')]
		r.class(ClassGroupManagement, act, title(lastWord(typ, '.')))
		g := map[string]any{}
		setStr(g, "uid", p.ID)
		setStr(g, "name", p.Name)
		if len(g) == 0 {
			g["name"] = "unknown"
		}
		r["group"] = g
	case mapping.HasPrefix(typ, "project.", "organization.", "ip_allowlist.", "certificate.", "certificates.", "rate_limit.",
		"scim.", "checkpoint.", "external_key.", "resource.", "tunnel.", "workload_identity_provider", "role.", "tenant."):
		r.class(ClassEntityManagement, verbActivity(lastWord(typ, '.'), false), title(lastWord(typ, '.')))
		r["entity"] = openaiEntity(typ, p)
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
func (m *Mapper) openaiRequestLog(r record, f *openai.Fields, typ string, a openai.Actor) {
	if strings.HasPrefix(typ, "organization.") {
		kind, id := f.Target()
		name := f.TargetName()
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
	req, hasErr := f.APIRequest()
	if req.ID != "" {
		api["request"] = map[string]any{"uid": req.ID}
	}
	if hasErr {
		resp := map[string]any{}
		setStr(resp, "error", req.ErrorCode)
		setStr(resp, "error_message", req.ErrorMessage)
		api["response"] = resp
	}
	if req.Model != "" {
		r["resources"] = []any{map[string]any{"type": "model", "name": req.Model, "uid": req.Model}}
		r["ai_model"] = map[string]any{"name": req.Model, "uid": req.Model, "ai_provider": "OpenAI"}
		r.profile("ai_operation")
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

// openaiEntity is the Managed Entity of an entity-management event: its
// kind is the type without its verb.
func openaiEntity(typ string, p openai.Payload) map[string]any {
	kind := typ[:max(strings.LastIndexByte(typ, '.'), 0)]
	ent := map[string]any{"type": kind, "name": orDefault(p.Name, kind)}
	setStr(ent, "uid", orDefault(p.ID, p.TenantID))
	return ent
}

// openaiTargetUser is the user an account-change event is about, with
// the role it was given.
func openaiTargetUser(typ string, f *openai.Fields, p openai.Payload) map[string]any {
	var u map[string]any
	if strings.HasPrefix(typ, "invite.") {
		// The invited person has no user id yet: the address names them,
		// else the invitation's id.
		if u = person("", p.Email, "Invite"); u == nil {
			u = person(p.ID, "", "Invite")
		}
	} else {
		u = person(orDefault(orDefault(f.TargetUser(false), p.ID), p.TenantID), "", "")
	}
	if u == nil {
		u = unknownUser()
	}
	if p.Role != "" {
		u["groups"] = []any{map[string]any{"name": p.Role, "type": "role"}}
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
