package ocsf

import (
	"strings"

	"github.com/auditrelay/auditrelay/schema/chatgpt"
	"github.com/auditrelay/auditrelay/transform/internal/mapping"
)

// The products of ChatGPT's compliance records (metadata.product.name,
// service.name).
const (
	chatgptProduct = "ChatGPT Enterprise"
	chatgptService = "ChatGPT"
	codexService   = "Codex"
)

// chatgpt maps a ChatGPT compliance record (README.md has the table).
// schema/chatgpt reads everything it uses: the type and sub-type, the
// actor, the request's network side, the person and the resource a record
// is about, the role an action gave, a message's model, Codex token usage
// and the severity.
func (m *Mapper) chatgpt(raw []byte) record {
	f, _ := chatgpt.ReadObject(raw)
	typ, sub := f.Type(), f.SubType()
	code := typ
	if sub != "" {
		code += "." + sub
	}
	t, _ := f.Time()
	r := newRecord(t.UnixMilli(), f.ID(), code, "compliance_logs", chatgptProduct, "OpenAI")
	a, c := f.Actor(), f.Client()
	res := f.Resource()
	upper := strings.ToUpper(sub)

	network := true // the class has src_endpoint and http_request
	switch typ {
	case chatgpt.TypeAuthLog:
		switch sub {
		case "login_success", "login_failed":
			r.class(ClassAuthentication, actLogon, "")
		case "logout_success":
			r.class(ClassAuthentication, actLogoff, "")
		case "token_issued":
			r.class(ClassAuthentication, actOther, "Token Issued")
		default:
			r.class(ClassAuthentication, actOther, title(sub))
		}
		r["user"] = userOr(chatgptPerson(a))
		r["service"] = map[string]any{"name": chatgptService}
		r["is_remote"] = true
	case chatgpt.TypeAuditLog:
		id, email := f.TargetUser()
		role, _ := f.Role()
		switch {
		case strings.Contains(upper, "ROLE") && (id != "" || email != ""):
			r.class(ClassUserAccess, actAssign, "")
			r["user"] = person(id, email, "")
			r["privileges"] = []any{orDefault(role, "role")}
		case strings.HasPrefix(upper, "INVITE_"):
			r.class(ClassAccountChange, chatgptAccountActivity(upper), title(sub))
			r["user"] = userOr(person(id, email, "Invite"))
		case strings.HasPrefix(upper, "USER_"):
			r.class(ClassAccountChange, chatgptAccountActivity(upper), title(sub))
			r["user"] = userOr(person(id, email, ""))
		case mapping.HasPrefix(upper, "LIST_", "GET_", "VIEW_", "DOWNLOAD_", "EXPORT_"):
			r.class(ClassAPIActivity, actRead, "")
			r["api"] = map[string]any{"operation": sub, "service": map[string]any{"name": chatgptService}}
			r.resource(res.Kind, res.ID, res.Name)
		default:
			act := verbActivity(lastWord(upper, '_'), false)
			if on, ok := f.Enabled(); ok {
				act = actEMDisable
				if on {
					act = actEMEnable
				}
			}
			r.class(ClassEntityManagement, act, title(sub))
			r["entity"] = entityOf(res, "workspace", f.WorkspaceID(), orDefault(sub, typ))
		}
	case chatgpt.TypeAppAuthLog:
		r.class(ClassEntityManagement, verbActivity(sub, false), title(sub))
		r["entity"] = entityOf(res, "app", "", "unknown")
	case chatgpt.TypeAppLog:
		r.class(ClassAPIActivity, actOther, "App "+title(sub))
		r["api"] = map[string]any{"operation": orDefault(res.Name, typ), "service": map[string]any{"name": chatgptService}}
		r.resource(res.Kind, res.ID, res.Name)
	case chatgpt.TypeConversationMessage:
		r.class(ClassAPIActivity, actEMCreate, "")
		r["api"] = map[string]any{"operation": "conversation.message", "service": map[string]any{"name": chatgptService}}
		r.resource(res.Kind, res.ID, res.Name)
		msgID, model, client := f.Message()
		mc := map[string]any{"service": map[string]any{"name": chatgptService}}
		setStr(mc, "uid", msgID)
		role := map[string]int{"user": 1, "assistant": 2, "tool": 3}[sub]
		if role == 0 {
			role = 99
		}
		mc["ai_role_id"], mc["ai_role"] = role, orDefault(map[int]string{1: "User", 2: "Assistant", 3: "Tool"}[role], title(orDefault(sub, "other")))
		r["message_context"] = mc
		if model != "" {
			r["ai_model"] = map[string]any{"name": model, "ai_provider": "OpenAI"}
		}
		r.profile("ai_operation")
		if c.IP == "" {
			r["src_endpoint"] = standIn(client, a.ID(), a.Kind)
		}
	case chatgpt.TypeCodexLog:
		if upper == "ACCESS_TOKEN_CREATED" {
			r.class(ClassAuthentication, actOther, "Token Issued")
			r["user"] = userOr(chatgptPerson(a))
			r["service"] = map[string]any{"name": codexService}
			break
		}
		r.class(ClassAPIActivity, actOther, title(sub))
		r["api"] = map[string]any{"operation": orDefault(sub, typ), "service": map[string]any{"name": codexService}}
		r.resource(res.Kind, res.ID, res.Name)
		if in, out, ok := f.Tokens(); ok {
			r["message_context"] = map[string]any{"service": map[string]any{"name": codexService},
				"prompt_tokens": in, "completion_tokens": out, "total_tokens": in + out}
			r.profile("ai_operation")
		}
		if c.IP == "" {
			r["src_endpoint"] = standIn(f.ClientID(), a.ID(), a.Kind)
		}
	case chatgpt.TypeCodexSecurityLog:
		r.class(ClassEntityManagement, verbActivity(lastWord(upper, '_'), false), title(sub))
		r["entity"] = entityOf(res, "codex_security", "", orDefault(sub, typ))
	case chatgpt.TypeCustomAgentsLog:
		switch {
		case strings.HasPrefix(upper, "AGENT_") && !strings.HasPrefix(upper, "AGENT_RUN_"), strings.HasPrefix(upper, "TRIGGER_"):
			r.class(ClassEntityManagement, verbActivity(lastWord(upper, '_'), false), title(sub))
			if strings.HasPrefix(upper, "TRIGGER_") {
				res.Kind = "agent_trigger"
			}
			r["entity"] = entityOf(res, "custom_agent", "", "unknown")
		case upper == "CONNECTOR_OAUTH_RESOLVED":
			r.class(ClassAuthentication, actOther, "Token Issued")
			r["user"] = userOr(person(a.DelegatorID, a.DelegatorEmail, ""))
			r["service"] = map[string]any{"name": chatgptService}
		default:
			act := map[string]int{"MEMORY_READ": actRead, "MEMORY_WRITE": actUpdate, "MEMORY_DELETE": actEMDelete, "AGENT_RUN_CREATED": actEMCreate}[upper]
			r.class(ClassAPIActivity, act, title(sub))
			r["api"] = map[string]any{"operation": orDefault(sub, typ), "service": map[string]any{"name": chatgptService}}
			r.resource(res.Kind, res.ID, res.Name)
			r["src_endpoint"] = standIn(f.ClientID(), a.ID(), a.Kind)
		}
	default:
		// A type the mapping does not know: the generic class, the
		// original under unmapped. The host profile carries the actor.
		r.class(ClassBase, actOther, title(orDefault(typ, "unknown")))
		network = false
		if act := chatgptActor(a); act != nil {
			r["actor"] = act
			r.profile("host")
		}
	}
	if network {
		act := chatgptActor(a)
		if act == nil && r["class_uid"] == ClassAPIActivity { // the class requires an actor
			act = map[string]any{"user": userOr(nil)}
		}
		if act != nil {
			r["actor"] = act
		}
		if ep := endpoint(c.IP, c.Country, c.Region, c.City, c.Latitude, c.Longitude, c.ASN); ep != nil {
			r["src_endpoint"] = ep
		}
		if c.UserAgent != "" {
			r["http_request"] = map[string]any{"user_agent": c.UserAgent}
		}
		if r["class_uid"] == ClassAPIActivity && r["src_endpoint"] == nil {
			r["src_endpoint"] = standIn("", a.ID(), a.Kind)
		}
	}
	if f.Failure() {
		res := f.ActionResult()
		if res == chatgpt.ResultSuccess {
			res = ""
		}
		r.fail(res, "")
	}
	if ws := f.WorkspaceID(); ws != "" {
		r.cloud("OpenAI", ws, "", "ChatGPT Workspace")
	}
	lvl := f.AnnotatedSeverity()
	if lvl == "" {
		lvl = f.Severity(nil)
	}
	r.severity(lvl)
	return r
}

// chatgptAccountActivity is the Account Change activity of an AUDIT_LOG
// action on users or invitations.
func chatgptAccountActivity(action string) int {
	switch {
	case strings.HasSuffix(action, "_SEND"), strings.HasSuffix(action, "_ADDED"), strings.HasSuffix(action, "_CREATED"):
		return actCreate
	case strings.HasSuffix(action, "_DELETED"), strings.HasSuffix(action, "_REMOVED"), strings.HasSuffix(action, "_REVOKED"):
		return actDelete
	case strings.HasSuffix(action, "_DEACTIVATED"), strings.HasSuffix(action, "_SUSPENDED"), strings.HasSuffix(action, "_DISABLED"):
		return actDisable
	case strings.HasSuffix(action, "_ACTIVATED"), strings.HasSuffix(action, "_ACCEPTED"), strings.HasSuffix(action, "_ENABLED"):
		return actEnable
	}
	return actOther
}

// chatgptPerson is the person who did a record: the user, or the person
// an agent acted for; nil for a key or an unknown kind.
func chatgptPerson(a chatgpt.Actor) map[string]any {
	if a.Kind == chatgpt.ActorAgent {
		return person(a.DelegatorID, a.DelegatorEmail, "")
	}
	return person(a.UserID, a.Email, "")
}

// chatgptActor is the actor of a record: a person; an API key as the
// principal that used it; an agent as the application acting, for the
// person it acted for, in its run (session); nil for none or an unknown
// kind.
func chatgptActor(a chatgpt.Actor) map[string]any {
	switch a.Kind {
	case chatgpt.ActorUser:
		if u := person(a.UserID, a.Email, ""); u != nil {
			return map[string]any{"user": u}
		}
	case chatgpt.ActorAPIKey:
		if a.KeyID != "" {
			return map[string]any{"user": map[string]any{"uid": a.KeyID, "type": "API Key", "type_id": 99,
				"programmatic_credentials": []any{map[string]any{"uid": a.KeyID, "type": "API Key"}}}}
		}
	case chatgpt.ActorAgent:
		out := map[string]any{}
		setStr(out, "app_uid", a.AgentID)
		setStr(out, "app_name", a.AgentName)
		if u := person(a.DelegatorID, a.DelegatorEmail, ""); u != nil {
			out["user"] = u
		}
		if a.RuntimeID != "" {
			out["session"] = map[string]any{"uid": a.RuntimeID}
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}

// entityOf is the Managed Entity of a resource, else one of kind with the
// id uid, else (no id either) named name.
func entityOf(res chatgpt.Resource, kind, uid, name string) map[string]any {
	if res.ID == "" && res.Name == "" {
		e := map[string]any{"type": kind}
		setStr(e, "uid", uid)
		if uid == "" {
			e["name"] = name
		}
		return e
	}
	e := map[string]any{"type": orDefault(res.Kind, kind)}
	setStr(e, "uid", res.ID)
	setStr(e, "name", res.Name)
	return e
}
