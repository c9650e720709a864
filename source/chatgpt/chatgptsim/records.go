package chatgptsim

import (
	"strconv"
	"time"
)

// Records: one JSON object a line, rendered from the line's coordinates
// alone (type, slot, file, own line number), so that a file of any length
// is written as it is sent and any line can be rendered again for Truth.
// The shapes are those of the API notes; values are made up.

// lineCtx is what a line's rendering needs besides the server.
type lineCtx struct {
	f   fileRef
	own int   // the line's number among its file's own lines
	n   int   // how many own lines the file has
	ts  int64 // the record's instant, Unix ns
	r   rng
	fl  *filler
	msg func(string) // receives conversation message texts, for Truth
}

// appendLine appends own line own (of n) of file f, with its newline.
func (s *Server) appendLine(b []byte, fl *filler, msg func(string), f fileRef, own, n int) []byte {
	c := lineCtx{f: f, own: own, n: n, fl: fl, msg: msg, ts: s.lineTime(f, own, n),
		r: newRNG(hash(s.key, uint64(f.t), uint64(f.slot), uint64(f.j), uint64(own)))}
	w := jw{b: b}
	w.open()
	w.key("event_id")
	w.uuid(c.r.next(), c.r.next())
	w.kstr("type", s.types[f.t])
	w.key("timestamp")
	w.time(time.Unix(0, c.ts))
	w.key("principal")
	w.open()
	w.kstr("id", s.workspaceID)
	w.kstr("type", "CHATGPT_WORKSPACE")
	w.close()
	switch s.types[f.t] {
	case "CONVERSATION_MESSAGE":
		s.conversationMessage(&w, &c)
	case "AUDIT_LOG":
		s.auditLog(&w, &c)
	case "AUTH_LOG":
		s.authLog(&w, &c)
	case "APP_LOG":
		s.appLog(&w, &c)
	case "APP_AUTH_LOG":
		s.appAuthLog(&w, &c)
	case "CODEX_LOG":
		s.codexLog(&w, &c)
	case "CODEX_SECURITY_LOG":
		s.codexSecurityLog(&w, &c)
	case "CUSTOM_AGENTS_LOG":
		s.customAgentsLog(&w, &c)
	default:
		s.unknownType(&w, &c)
	}
	w.close()
	return append(w.b, '\n')
}

// lineTime is the instant of own line own of f's n, Unix ns: the lines
// spread evenly over the file's span, each a random number of whole
// microseconds after its even place, so that timestamps look measured and
// still rise line by line.
func (s *Server) lineTime(f fileRef, own, n int) int64 {
	span := int64(s.interval)
	step := span / int64(n+1)
	t := s.endNs(f.t, f.slot) - span + int64(own+1)*step
	if us := step / 1000; us > 0 {
		t += int64(hash(s.key, uint64(f.t), uint64(f.slot), uint64(f.j), uint64(own), 0x7)%uint64(us)) * 1000
	}
	return t
}

// userActor writes an ACCOUNT_USER actor.
func (s *Server) userActor(w *jw, u user) {
	w.key("actor")
	w.open()
	w.kstr("type", "ACCOUNT_USER")
	w.kstr("user_id", u.id)
	w.kstr("user_email", u.email)
	w.close()
}

func (s *Server) keyActor(w *jw, r *rng) {
	w.key("actor")
	w.open()
	w.kstr("type", "API_KEY")
	w.kstr("redacted_id", pick(r, s.dir.keys))
	w.close()
}

// agentActor writes an AGENT actor acting for a person, its delegator.
func (s *Server) agentActor(w *jw, r *rng) {
	a := pick(r, s.dir.agents)
	w.key("actor")
	w.open()
	w.kstr("type", "AGENT")
	w.kstr("product_type", "CUSTOM_AGENT")
	w.kstr("id", a.id)
	w.kstr("name", a.name)
	w.kstr("product_id", a.productID)
	w.key("agent_runtime")
	w.open()
	w.key("id")
	w.id("run_", r, alnum, 20)
	w.key("delegator")
	u := pick(r, s.dir.users)
	w.open()
	w.kstr("type", "ACCOUNT_USER")
	w.kstr("user_id", u.id)
	w.kstr("user_email", u.email)
	w.close()
	w.close()
	w.key("agent_task")
	w.open()
	w.key("id")
	w.id("task_", r, alnum, 20)
	w.close()
	w.close()
}

// requestMetadata writes where a request came from.
func (s *Server) requestMetadata(w *jw, r *rng, destination bool) {
	p := pick(r, places)
	w.key("request_metadata")
	w.open()
	w.key("client_ip")
	w.sep()
	w.b = append(w.b, '"')
	w.b = append(w.b, p.ip...)
	w.b = strconv.AppendInt(w.b, int64(r.between(2, 254)), 10)
	w.b = append(w.b, '"')
	w.key("client_ip_details")
	w.open()
	w.kstr("country", p.country)
	w.kstr("city", p.city)
	w.kstr("region", p.region)
	w.kstr("region_code", p.regionCode)
	if p.asn != "-" {
		w.kstr("asn", p.asn)
	}
	w.kstr("latitude", p.latitude)
	w.kstr("longitude", p.longitude)
	w.close()
	w.kstr("client_user_agent", pick(r, userAgents))
	w.key("client_ja3")
	w.id("", r, hexLower, 32)
	w.key("client_ja4")
	w.id("t13d1516h2_", r, hexLower, 12)
	if destination {
		w.kstr("destination_hostname", "chatgpt.com")
	}
	w.close()
}

// content writes a string filled from tmpl.
func (s *Server) content(w *jw, c *lineCtx, r *rng, tmpl string) []byte {
	t := c.fl.fill(r, tmpl)
	w.strB(t)
	return t
}

// A conversation is four lines of a file (user, assistant, user,
// assistant): they share an id, a user and a title, and each message names
// the previous one. A turn's question and answer fill their placeholders
// from one stream, so an answer quotes the secret the question pasted.
func (s *Server) conversationMessage(w *jw, c *lineCtx) {
	conv, pos := c.own/4, c.own%4
	base := hash(s.key, uint64(c.f.t), uint64(c.f.slot), uint64(c.f.j), uint64(conv), 0xc0)
	rc := newRNG(base)
	convHi, convLo := rc.next(), rc.next()
	u := pick(&rc, s.dir.users)
	pinned, temporary := rc.chance(0.1), rc.chance(0.05)
	turn := uint64(pos / 2)
	rt := newRNG(hash(base, turn))
	tmpl := rt.intn(len(userTemplates))
	first := newRNG(hash(base, 0))
	title := titles[first.intn(len(userTemplates))%len(titles)]

	s.userActor(w, u)
	msgID := func(own int) (uint64, uint64) {
		h := hash(s.key, uint64(c.f.t), uint64(c.f.slot), uint64(c.f.j), uint64(own), 0x3e)
		return h, mix(h)
	}
	w.key("previous_message_id")
	if pos == 0 {
		w.null()
	} else {
		w.uuid(msgID(c.own - 1))
	}
	w.key("message")
	w.open()
	w.key("id")
	w.uuid(msgID(c.own))
	w.key("created_at")
	w.time(time.Unix(0, c.ts))
	w.key("author")
	w.open()
	isUser := pos%2 == 0
	if isUser {
		w.kstr("type", "user")
		w.kstr("client_type", pick(&c.r, []string{"desktop_web", "macos_app", "ios", "android"}))
	} else {
		w.kstr("type", "assistant")
		w.kstr("model", pick(&c.r, []string{"gpt-5", "gpt-5-thinking", "gpt-4o"}))
		w.key("tools_used")
		w.openA()
		if c.r.chance(0.3) {
			w.str("web_search")
		}
		w.closeA()
	}
	w.close()
	w.key("content")
	w.open()
	w.kstr("type", "text")
	w.key("value")
	var text []byte
	if isUser {
		text = s.content(w, c, &rt, userTemplates[tmpl])
	} else {
		text = s.content(w, c, &rt, assistantTemplates[tmpl])
	}
	if c.msg != nil {
		c.msg(string(text))
	}
	w.key("annotations")
	w.openA()
	if !isUser && c.r.chance(0.25) {
		w.open()
		w.kstr("type", "url_citation")
		w.key("urls")
		w.openA()
		w.str("https://docs.example.com/guide")
		w.closeA()
		w.close()
	}
	w.closeA()
	w.close()
	w.close()
	w.key("conversation")
	w.open()
	w.key("id")
	w.uuid(convHi, convLo)
	w.kstr("title", title)
	w.key("created_at")
	w.time(time.Unix(0, s.lineTime(c.f, c.own-pos, c.n)))
	w.kbool("is_pinned", pinned)
	w.kbool("is_temporary_chat", temporary)
	w.close()
}

var auditActions = []string{"LIST_WORKSPACE_LOG_FILES", "LIST_WORKSPACE_LOG_FILES", "USER_ROLE_UPDATED",
	"WORKSPACE_TOGGLE_FEATURE", "INVITE_SEND", "INVITE_SEND"}

func (s *Server) auditLog(w *jw, c *lineCtx) {
	r := &c.r
	action := pick(r, auditActions)
	if action == "LIST_WORKSPACE_LOG_FILES" {
		s.keyActor(w, r)
	} else {
		s.userActor(w, pick(r, s.dir.users))
	}
	result := "SUCCESS"
	if r.chance(0.05) {
		result = "BLOCKED"
	}
	w.kstr("action_result", result)
	w.kstr("action_privilege", "ADMIN")
	w.kstr("action", action)
	w.key("action_data")
	w.open()
	switch action {
	case "LIST_WORKSPACE_LOG_FILES":
		w.kstr("event_type", pick(r, KnownTypes))
		w.kint("limit", 100)
	case "USER_ROLE_UPDATED":
		w.kstr("target_user_id", pick(r, s.dir.users).id)
		w.kstr("previous_role", "standard-user")
		w.kstr("role", "admin")
	case "WORKSPACE_TOGGLE_FEATURE":
		w.kstr("feature", pick(r, []string{"memory", "code_interpreter", "custom_gpts", "connectors"}))
		w.kbool("enabled", r.chance(0.5))
	case "INVITE_SEND":
		w.key("invitee_email")
		w.sep()
		w.b = append(w.b, '"')
		w.b = append(w.b, "new.hire"...)
		w.b = strconv.AppendInt(w.b, int64(r.between(1, 999)), 10)
		w.b = append(w.b, '@')
		w.b = append(w.b, s.dir.domain...)
		w.b = append(w.b, '"')
		w.kstr("role", "standard-user")
	}
	w.close()
	s.requestMetadata(w, r, true)
}

var authActions = []string{"login_success", "login_success", "login_success", "login_failed", "logout_success", "token_issued"}

func (s *Server) authLog(w *jw, c *lineCtx) {
	r := &c.r
	s.userActor(w, pick(r, s.dir.users))
	s.requestMetadata(w, r, false)
	w.key("action_data")
	w.open()
	w.kstr("action", pick(r, authActions))
	w.kstr("role", pick(r, []string{"standard-user", "standard-user", "admin"}))
	w.close()
}

func (s *Server) appAuthLog(w *jw, c *lineCtx) {
	r := &c.r
	s.userActor(w, pick(r, s.dir.users))
	w.key("app_id")
	if r.chance(0.1) {
		w.null()
	} else {
		w.str(pick(r, s.dir.apps).id)
	}
	w.key("link_id")
	w.id("link_", r, alnum, 24)
	w.kstr("action", pick(r, []string{"link", "link", "unlink"}))
}

// An app call is a request line followed by its response line.
func (s *Server) appLog(w *jw, c *lineCtx) {
	call := c.own / 2
	rc := newRNG(hash(s.key, uint64(c.f.t), uint64(c.f.slot), uint64(c.f.j), uint64(call), 0xa9))
	u, a := pick(&rc, s.dir.users), pick(&rc, s.dir.apps)
	convHi, convLo := rc.next(), rc.next()
	s.userActor(w, u)
	w.kstr("app_id", a.id)
	w.kstr("app_name", a.name)
	w.kstr("app_type", a.kind)
	w.key("conversation_id")
	w.uuid(convHi, convLo)
	r := &c.r
	if c.own%2 == 0 {
		w.kstr("log_type", "request")
		w.key("input")
		w.open()
		w.kstr("action_name", a.action)
		w.key("query")
		s.content(w, c, r, pick(r, appQueries))
		w.kint("max_results", int64(r.between(5, 50)))
		w.close()
		return
	}
	w.kstr("log_type", "response")
	w.key("output")
	w.openA()
	w.open()
	w.key("response")
	w.open()
	w.key("result")
	w.open()
	w.key("content")
	w.openA()
	w.open()
	w.kstr("type", "text")
	w.key("text")
	s.content(w, c, r, pick(r, appResults))
	w.close()
	w.closeA()
	w.kbool("isError", r.chance(0.05))
	w.close()
	w.kstr("connector_id", a.connectorID)
	w.kstr("connector_name", a.name)
	w.kstr("action_name", a.action)
	w.kbool("is_sync", true)
	w.key("internal")
	w.open()
	w.kint("external_call_time_ms", int64(r.between(40, 3000)))
	w.close()
	w.close()
	w.close()
	w.closeA()
}

var codexEvents = []string{"PROMPT_RESPONSE_RECEIVED", "PROMPT_RESPONSE_RECEIVED", "TOOL_CALL_COMPLETED", "APP_MCP_CALL", "ACCESS_TOKEN_CREATED"}

func (s *Server) codexLog(w *jw, c *lineCtx) {
	r := &c.r
	if r.chance(0.1) {
		s.keyActor(w, r)
	} else {
		s.userActor(w, pick(r, s.dir.users))
	}
	ev := pick(r, codexEvents)
	w.kstr("event_type", ev)
	w.kstr("client_id", pick(r, []string{"CODEX_WEB", "CODEX_CLI", "CODEX_IDE_VSCODE"}))
	w.kstr("workspace_id", s.workspaceID)
	if r.chance(0.5) {
		s.requestMetadata(w, r, true)
	}
	w.key("event_details")
	w.open()
	w.kstr("detail_type", ev)
	switch ev {
	case "PROMPT_RESPONSE_RECEIVED":
		w.key("token_usage")
		w.open()
		w.kint("input_tokens", int64(r.between(200, 60000)))
		w.kint("output_tokens", int64(r.between(20, 8000)))
		w.kint("cached_input_tokens", int64(r.between(0, 40000)))
		w.kint("reasoning_output_tokens", int64(r.between(0, 4000)))
		w.close()
	case "TOOL_CALL_COMPLETED":
		w.kstr("tool_name", pick(r, []string{"shell", "apply_patch", "read_file"}))
		w.kint("exit_code", int64(pick(r, []int{0, 0, 0, 1, 2})))
		w.kint("duration_ms", int64(r.between(5, 90000)))
	case "APP_MCP_CALL":
		w.kstr("server_label", pick(r, []string{"github", "linear", "sentry"}))
		w.kstr("tool_name", pick(r, []string{"create_issue", "search", "get_event"}))
	case "ACCESS_TOKEN_CREATED":
		w.key("token_id")
		w.id("ctok_", r, alnum, 24)
	}
	w.close()
}

var codexSecurityEvents = []string{"SCAN_FINDING_UPDATED", "SCAN_FINDING_UPDATED", "PROPOSED_PATCH_PR_CREATED",
	"SCAN_CONFIGURATION_CREATED", "SCAN_CONFIGURATION_UPDATED"}

func (s *Server) codexSecurityLog(w *jw, c *lineCtx) {
	r := &c.r
	s.userActor(w, pick(r, s.dir.users))
	ev := pick(r, codexSecurityEvents)
	w.kstr("event_type", ev)
	w.key("event_details")
	w.open()
	switch ev {
	case "SCAN_FINDING_UPDATED", "PROPOSED_PATCH_PR_CREATED":
		w.key("finding_id")
		w.id("fnd_", r, alnum, 20)
		if ev == "PROPOSED_PATCH_PR_CREATED" {
			w.key("pull_request_url")
			w.sep()
			w.b = append(w.b, `"https://github.example/acme/payments/pull/`...)
			w.b = strconv.AppendInt(w.b, int64(r.between(100, 9999)), 10)
			w.b = append(w.b, '"')
			break
		}
		w.key("updated_fields")
		w.open()
		w.kstr("status", pick(r, []string{"open", "dismissed", "fixed"}))
		w.kstr("severity", pick(r, []string{"low", "medium", "high", "critical"}))
		w.close()
	default:
		w.key("scan_configuration_fields")
		w.open()
		w.kstr("repository", pick(r, []string{"acme/payments", "acme/web", "acme/infra"}))
		w.kstr("branch", "main")
		w.kstr("schedule", pick(r, []string{"daily", "weekly", "on_push"}))
		w.close()
	}
	w.close()
}

var agentEvents = []string{"AGENT_RUN_CREATED", "AGENT_RUN_MESSAGE", "AGENT_RUN_MESSAGE", "AGENT_RUN_MESSAGE", "AGENT_RUN_COMPLETED",
	"AGENT_RUN_FAILED", "AGENT_CREATED", "AGENT_UPDATED", "AGENT_PUBLISHED", "AGENT_DELETED", "SKILL_USED",
	"MEMORY_READ", "MEMORY_WRITE", "MEMORY_DELETE", "CONNECTOR_CALL_REQUESTED", "CONNECTOR_CALL_COMPLETED",
	"CONNECTOR_OAUTH_RESOLVED", "TRIGGER_CREATED", "TRIGGER_UPDATED", "TRIGGER_DELETED"}

// The members of event_details that carry messages, connector input and
// output, instructions and memories are not shown by any published sample:
// they are our reading, and schema/chatgpt's ContentPaths names the same.
func (s *Server) customAgentsLog(w *jw, c *lineCtx) {
	r := &c.r
	s.agentActor(w, r)
	ev := pick(r, agentEvents)
	w.kstr("event_type", ev)
	w.kstr("client_id", pick(r, []string{"AGENT_BUILDER_WEB", "CHATGPT_WEB", "ENTERPRISE_COMPLIANCE_API"}))
	w.key("event_details")
	w.open()
	w.kstr("detail_type", ev)
	switch ev {
	case "AGENT_RUN_MESSAGE":
		w.key("message")
		w.open()
		w.kstr("role", pick(r, []string{"user", "assistant"}))
		w.key("content")
		s.content(w, c, r, pick(r, agentMessages))
		w.close()
	case "AGENT_CREATED", "AGENT_UPDATED":
		w.key("instructions")
		s.content(w, c, r, pick(r, agentInstructions))
	case "MEMORY_WRITE":
		w.key("memory")
		w.open()
		w.key("id")
		w.id("mem_", r, alnum, 16)
		w.key("content")
		s.content(w, c, r, pick(r, agentMemories))
		w.close()
	case "CONNECTOR_CALL_REQUESTED", "CONNECTOR_CALL_COMPLETED":
		a := pick(r, s.dir.apps)
		w.kstr("connector_id", a.connectorID)
		w.kstr("connector_name", a.name)
		w.kstr("action_name", a.action)
		if ev == "CONNECTOR_CALL_REQUESTED" {
			w.key("input")
			w.open()
			w.key("query")
			s.content(w, c, r, pick(r, appQueries))
			w.close()
		} else {
			w.key("output")
			w.open()
			w.key("text")
			s.content(w, c, r, pick(r, appResults))
			w.close()
		}
	case "SKILL_USED":
		w.kstr("skill_name", pick(r, []string{"web_browsing", "code_interpreter", "image_generation"}))
	default:
		w.key("run_id")
		w.id("run_", r, alnum, 20)
	}
	w.close()
}

// unknownType writes what a type the project does not know might carry:
// the envelope, an actor (one of an unknown kind now and then), and
// members nobody has seen, nested.
func (s *Server) unknownType(w *jw, c *lineCtx) {
	r := &c.r
	switch r.intn(4) {
	case 0:
		w.key("actor")
		w.open()
		w.kstr("type", "SERVICE_PRINCIPAL")
		w.key("id")
		w.id("sp_", r, alnum, 16)
		w.close()
	case 1:
		s.keyActor(w, r)
	default:
		s.userActor(w, pick(r, s.dir.users))
	}
	w.kstr("action", pick(r, []string{"EXPORTED", "VIEWED", "SHARED"}))
	w.key("details")
	w.open()
	w.key("items")
	w.openA()
	for range r.between(0, 3) {
		w.open()
		w.key("id")
		w.id("itm_", r, alnum, 10)
		w.kint("size", int64(r.between(1, 1<<20)))
		w.key("tags")
		w.null()
		w.close()
	}
	w.closeA()
	w.kbool("new_flag", r.chance(0.5))
	w.close()
}
