package chatgptsim

import (
	"strconv"
	"time"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
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
	r   simkit.RNG
	fl  *filler
	msg func(string) // receives conversation message texts, for Truth
}

// appendLine appends own line own (of n) of file f, with its newline.
func (s *Server) appendLine(b []byte, fl *filler, msg func(string), f fileRef, own, n int) []byte {
	c := lineCtx{f: f, own: own, n: n, fl: fl, msg: msg, ts: s.lineTime(f, own, n),
		r: simkit.NewRNG(simkit.Hash(s.key, uint64(f.t), uint64(f.slot), uint64(f.j), uint64(own)))}
	w := jw{simkit.JSON{B: b}}
	w.Open()
	w.Key("event_id")
	w.uuid(c.r.Next(), c.r.Next())
	w.KStr("type", s.types[f.t])
	w.Key("timestamp")
	w.time(time.Unix(0, c.ts))
	w.Key("principal")
	w.Open()
	w.KStr("id", s.workspaceID)
	w.KStr("type", "CHATGPT_WORKSPACE")
	w.Close()
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
	w.Close()
	return append(w.B, '\n')
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
		t += int64(simkit.Hash(s.key, uint64(f.t), uint64(f.slot), uint64(f.j), uint64(own), 0x7)%uint64(us)) * 1000
	}
	return t
}

// userActor writes an ACCOUNT_USER actor.
func (s *Server) userActor(w *jw, u user) {
	w.Key("actor")
	w.Open()
	w.KStr("type", "ACCOUNT_USER")
	w.KStr("user_id", u.id)
	w.KStr("user_email", u.email)
	w.Close()
}

func (s *Server) keyActor(w *jw, r *simkit.RNG) {
	w.Key("actor")
	w.Open()
	w.KStr("type", "API_KEY")
	w.KStr("redacted_id", simkit.Pick(r, s.dir.keys))
	w.Close()
}

// agentActor writes an AGENT actor acting for a person, its delegator.
func (s *Server) agentActor(w *jw, r *simkit.RNG) {
	a := simkit.Pick(r, s.dir.agents)
	w.Key("actor")
	w.Open()
	w.KStr("type", "AGENT")
	w.KStr("product_type", "CUSTOM_AGENT")
	w.KStr("id", a.id)
	w.KStr("name", a.name)
	w.KStr("product_id", a.productID)
	w.Key("agent_runtime")
	w.Open()
	w.Key("id")
	w.id("run_", r, alnum, 20)
	w.Key("delegator")
	u := simkit.Pick(r, s.dir.users)
	w.Open()
	w.KStr("type", "ACCOUNT_USER")
	w.KStr("user_id", u.id)
	w.KStr("user_email", u.email)
	w.Close()
	w.Close()
	w.Key("agent_task")
	w.Open()
	w.Key("id")
	w.id("task_", r, alnum, 20)
	w.Close()
	w.Close()
}

// requestMetadata writes where a request came from.
func (s *Server) requestMetadata(w *jw, r *simkit.RNG, destination bool) {
	p := simkit.Pick(r, places)
	w.Key("request_metadata")
	w.Open()
	w.Key("client_ip")
	w.Sep()
	w.B = append(w.B, '"')
	w.B = append(w.B, p.ip...)
	w.B = strconv.AppendInt(w.B, int64(r.Between(2, 254)), 10)
	w.B = append(w.B, '"')
	w.Key("client_ip_details")
	w.Open()
	w.KStr("country", p.country)
	w.KStr("city", p.city)
	w.KStr("region", p.region)
	w.KStr("region_code", p.regionCode)
	if p.asn != "-" {
		w.KStr("asn", p.asn)
	}
	w.KStr("latitude", p.latitude)
	w.KStr("longitude", p.longitude)
	w.Close()
	w.KStr("client_user_agent", simkit.Pick(r, userAgents))
	w.Key("client_ja3")
	w.id("", r, hexLower, 32)
	w.Key("client_ja4")
	w.id("t13d1516h2_", r, hexLower, 12)
	if destination {
		w.KStr("destination_hostname", "chatgpt.com")
	}
	w.Close()
}

// content writes a string filled from tmpl.
func (s *Server) content(w *jw, c *lineCtx, r *simkit.RNG, tmpl string) []byte {
	t := c.fl.fill(r, tmpl)
	w.StrBytes(t)
	return t
}

// A conversation is four lines of a file (user, assistant, user,
// assistant): they share an id, a user and a title, and each message names
// the previous one. A turn's question and answer fill their placeholders
// from one stream, so an answer quotes the secret the question pasted.
func (s *Server) conversationMessage(w *jw, c *lineCtx) {
	conv, pos := c.own/4, c.own%4
	base := simkit.Hash(s.key, uint64(c.f.t), uint64(c.f.slot), uint64(c.f.j), uint64(conv), 0xc0)
	rc := simkit.NewRNG(base)
	convHi, convLo := rc.Next(), rc.Next()
	u := simkit.Pick(&rc, s.dir.users)
	pinned, temporary := rc.Chance(0.1), rc.Chance(0.05)
	turn := uint64(pos / 2)
	rt := simkit.NewRNG(simkit.Hash(base, turn))
	tmpl := rt.Intn(len(userTemplates))
	first := simkit.NewRNG(simkit.Hash(base, 0))
	title := titles[first.Intn(len(userTemplates))%len(titles)]

	s.userActor(w, u)
	msgID := func(own int) (uint64, uint64) {
		h := simkit.Hash(s.key, uint64(c.f.t), uint64(c.f.slot), uint64(c.f.j), uint64(own), 0x3e)
		return h, simkit.Mix(h)
	}
	w.Key("previous_message_id")
	if pos == 0 {
		w.Null()
	} else {
		w.uuid(msgID(c.own - 1))
	}
	w.Key("message")
	w.Open()
	w.Key("id")
	w.uuid(msgID(c.own))
	w.Key("created_at")
	w.time(time.Unix(0, c.ts))
	w.Key("author")
	w.Open()
	isUser := pos%2 == 0
	if isUser {
		w.KStr("type", "user")
		w.KStr("client_type", simkit.Pick(&c.r, []string{"desktop_web", "macos_app", "ios", "android"}))
	} else {
		w.KStr("type", "assistant")
		w.KStr("model", simkit.Pick(&c.r, []string{"gpt-5", "gpt-5-thinking", "gpt-4o"}))
		w.Key("tools_used")
		w.OpenArray()
		if c.r.Chance(0.3) {
			w.Str("web_search")
		}
		w.CloseArray()
	}
	w.Close()
	w.Key("content")
	w.Open()
	w.KStr("type", "text")
	w.Key("value")
	var text []byte
	if isUser {
		text = s.content(w, c, &rt, userTemplates[tmpl])
	} else {
		text = s.content(w, c, &rt, assistantTemplates[tmpl])
	}
	if c.msg != nil {
		c.msg(string(text))
	}
	w.Key("annotations")
	w.OpenArray()
	if !isUser && c.r.Chance(0.25) {
		w.Open()
		w.KStr("type", "url_citation")
		w.Key("urls")
		w.OpenArray()
		w.Str("https://docs.example.com/guide")
		w.CloseArray()
		w.Close()
	}
	w.CloseArray()
	w.Close()
	w.Close()
	w.Key("conversation")
	w.Open()
	w.Key("id")
	w.uuid(convHi, convLo)
	w.KStr("title", title)
	w.Key("created_at")
	w.time(time.Unix(0, s.lineTime(c.f, c.own-pos, c.n)))
	w.KBool("is_pinned", pinned)
	w.KBool("is_temporary_chat", temporary)
	w.Close()
}

var auditActions = []string{"LIST_WORKSPACE_LOG_FILES", "LIST_WORKSPACE_LOG_FILES", "USER_ROLE_UPDATED",
	"WORKSPACE_TOGGLE_FEATURE", "INVITE_SEND", "INVITE_SEND"}

func (s *Server) auditLog(w *jw, c *lineCtx) {
	r := &c.r
	action := simkit.Pick(r, auditActions)
	if action == "LIST_WORKSPACE_LOG_FILES" {
		s.keyActor(w, r)
	} else {
		s.userActor(w, simkit.Pick(r, s.dir.users))
	}
	result := "SUCCESS"
	if r.Chance(0.05) {
		result = "BLOCKED"
	}
	w.KStr("action_result", result)
	w.KStr("action_privilege", "ADMIN")
	w.KStr("action", action)
	w.Key("action_data")
	w.Open()
	switch action {
	case "LIST_WORKSPACE_LOG_FILES":
		w.KStr("event_type", simkit.Pick(r, KnownTypes))
		w.KInt("limit", 100)
	case "USER_ROLE_UPDATED":
		w.KStr("target_user_id", simkit.Pick(r, s.dir.users).id)
		w.KStr("previous_role", "standard-user")
		w.KStr("role", "admin")
	case "WORKSPACE_TOGGLE_FEATURE":
		w.KStr("feature", simkit.Pick(r, []string{"memory", "code_interpreter", "custom_gpts", "connectors"}))
		w.KBool("enabled", r.Chance(0.5))
	case "INVITE_SEND":
		w.Key("invitee_email")
		w.Sep()
		w.B = append(w.B, '"')
		w.B = append(w.B, "new.hire"...)
		w.B = strconv.AppendInt(w.B, int64(r.Between(1, 999)), 10)
		w.B = append(w.B, '@')
		w.B = append(w.B, s.dir.domain...)
		w.B = append(w.B, '"')
		w.KStr("role", "standard-user")
	}
	w.Close()
	s.requestMetadata(w, r, true)
}

var authActions = []string{"login_success", "login_success", "login_success", "login_failed", "logout_success", "token_issued"}

func (s *Server) authLog(w *jw, c *lineCtx) {
	r := &c.r
	s.userActor(w, simkit.Pick(r, s.dir.users))
	s.requestMetadata(w, r, false)
	w.Key("action_data")
	w.Open()
	w.KStr("action", simkit.Pick(r, authActions))
	w.KStr("role", simkit.Pick(r, []string{"standard-user", "standard-user", "admin"}))
	w.Close()
}

func (s *Server) appAuthLog(w *jw, c *lineCtx) {
	r := &c.r
	s.userActor(w, simkit.Pick(r, s.dir.users))
	w.Key("app_id")
	if r.Chance(0.1) {
		w.Null()
	} else {
		w.Str(simkit.Pick(r, s.dir.apps).id)
	}
	w.Key("link_id")
	w.id("link_", r, alnum, 24)
	w.KStr("action", simkit.Pick(r, []string{"link", "link", "unlink"}))
}

// An app call is a request line followed by its response line.
func (s *Server) appLog(w *jw, c *lineCtx) {
	call := c.own / 2
	rc := simkit.NewRNG(simkit.Hash(s.key, uint64(c.f.t), uint64(c.f.slot), uint64(c.f.j), uint64(call), 0xa9))
	u, a := simkit.Pick(&rc, s.dir.users), simkit.Pick(&rc, s.dir.apps)
	convHi, convLo := rc.Next(), rc.Next()
	s.userActor(w, u)
	w.KStr("app_id", a.id)
	w.KStr("app_name", a.name)
	w.KStr("app_type", a.kind)
	w.Key("conversation_id")
	w.uuid(convHi, convLo)
	r := &c.r
	if c.own%2 == 0 {
		w.KStr("log_type", "request")
		w.Key("input")
		w.Open()
		w.KStr("action_name", a.action)
		w.Key("query")
		s.content(w, c, r, simkit.Pick(r, appQueries))
		w.KInt("max_results", int64(r.Between(5, 50)))
		w.Close()
		return
	}
	w.KStr("log_type", "response")
	w.Key("output")
	w.OpenArray()
	w.Open()
	w.Key("response")
	w.Open()
	w.Key("result")
	w.Open()
	w.Key("content")
	w.OpenArray()
	w.Open()
	w.KStr("type", "text")
	w.Key("text")
	s.content(w, c, r, simkit.Pick(r, appResults))
	w.Close()
	w.CloseArray()
	w.KBool("isError", r.Chance(0.05))
	w.Close()
	w.KStr("connector_id", a.connectorID)
	w.KStr("connector_name", a.name)
	w.KStr("action_name", a.action)
	w.KBool("is_sync", true)
	w.Key("internal")
	w.Open()
	w.KInt("external_call_time_ms", int64(r.Between(40, 3000)))
	w.Close()
	w.Close()
	w.Close()
	w.CloseArray()
}

var codexEvents = []string{"PROMPT_RESPONSE_RECEIVED", "PROMPT_RESPONSE_RECEIVED", "TOOL_CALL_COMPLETED", "APP_MCP_CALL", "ACCESS_TOKEN_CREATED"}

func (s *Server) codexLog(w *jw, c *lineCtx) {
	r := &c.r
	if r.Chance(0.1) {
		s.keyActor(w, r)
	} else {
		s.userActor(w, simkit.Pick(r, s.dir.users))
	}
	ev := simkit.Pick(r, codexEvents)
	w.KStr("event_type", ev)
	w.KStr("client_id", simkit.Pick(r, []string{"CODEX_WEB", "CODEX_CLI", "CODEX_IDE_VSCODE"}))
	w.KStr("workspace_id", s.workspaceID)
	if r.Chance(0.5) {
		s.requestMetadata(w, r, true)
	}
	w.Key("event_details")
	w.Open()
	w.KStr("detail_type", ev)
	switch ev {
	case "PROMPT_RESPONSE_RECEIVED":
		w.Key("token_usage")
		w.Open()
		w.KInt("input_tokens", int64(r.Between(200, 60000)))
		w.KInt("output_tokens", int64(r.Between(20, 8000)))
		w.KInt("cached_input_tokens", int64(r.Between(0, 40000)))
		w.KInt("reasoning_output_tokens", int64(r.Between(0, 4000)))
		w.Close()
	case "TOOL_CALL_COMPLETED":
		w.KStr("tool_name", simkit.Pick(r, []string{"shell", "apply_patch", "read_file"}))
		w.KInt("exit_code", int64(simkit.Pick(r, []int{0, 0, 0, 1, 2})))
		w.KInt("duration_ms", int64(r.Between(5, 90000)))
	case "APP_MCP_CALL":
		w.KStr("server_label", simkit.Pick(r, []string{"github", "linear", "sentry"}))
		w.KStr("tool_name", simkit.Pick(r, []string{"create_issue", "search", "get_event"}))
	case "ACCESS_TOKEN_CREATED":
		w.Key("token_id")
		w.id("ctok_", r, alnum, 24)
	}
	w.Close()
}

var codexSecurityEvents = []string{"SCAN_FINDING_UPDATED", "SCAN_FINDING_UPDATED", "PROPOSED_PATCH_PR_CREATED",
	"SCAN_CONFIGURATION_CREATED", "SCAN_CONFIGURATION_UPDATED"}

func (s *Server) codexSecurityLog(w *jw, c *lineCtx) {
	r := &c.r
	s.userActor(w, simkit.Pick(r, s.dir.users))
	ev := simkit.Pick(r, codexSecurityEvents)
	w.KStr("event_type", ev)
	w.Key("event_details")
	w.Open()
	switch ev {
	case "SCAN_FINDING_UPDATED", "PROPOSED_PATCH_PR_CREATED":
		w.Key("finding_id")
		w.id("fnd_", r, alnum, 20)
		if ev == "PROPOSED_PATCH_PR_CREATED" {
			w.Key("pull_request_url")
			w.Sep()
			w.B = append(w.B, `"https://github.example/acme/payments/pull/`...)
			w.B = strconv.AppendInt(w.B, int64(r.Between(100, 9999)), 10)
			w.B = append(w.B, '"')
			break
		}
		w.Key("updated_fields")
		w.Open()
		w.KStr("status", simkit.Pick(r, []string{"open", "dismissed", "fixed"}))
		w.KStr("severity", simkit.Pick(r, []string{"low", "medium", "high", "critical"}))
		w.Close()
	default:
		w.Key("scan_configuration_fields")
		w.Open()
		w.KStr("repository", simkit.Pick(r, []string{"acme/payments", "acme/web", "acme/infra"}))
		w.KStr("branch", "main")
		w.KStr("schedule", simkit.Pick(r, []string{"daily", "weekly", "on_push"}))
		w.Close()
	}
	w.Close()
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
	ev := simkit.Pick(r, agentEvents)
	w.KStr("event_type", ev)
	w.KStr("client_id", simkit.Pick(r, []string{"AGENT_BUILDER_WEB", "CHATGPT_WEB", "ENTERPRISE_COMPLIANCE_API"}))
	w.Key("event_details")
	w.Open()
	w.KStr("detail_type", ev)
	switch ev {
	case "AGENT_RUN_MESSAGE":
		w.Key("message")
		w.Open()
		w.KStr("role", simkit.Pick(r, []string{"user", "assistant"}))
		w.Key("content")
		s.content(w, c, r, simkit.Pick(r, agentMessages))
		w.Close()
	case "AGENT_CREATED", "AGENT_UPDATED":
		w.Key("instructions")
		s.content(w, c, r, simkit.Pick(r, agentInstructions))
	case "MEMORY_WRITE":
		w.Key("memory")
		w.Open()
		w.Key("id")
		w.id("mem_", r, alnum, 16)
		w.Key("content")
		s.content(w, c, r, simkit.Pick(r, agentMemories))
		w.Close()
	case "CONNECTOR_CALL_REQUESTED", "CONNECTOR_CALL_COMPLETED":
		a := simkit.Pick(r, s.dir.apps)
		w.KStr("connector_id", a.connectorID)
		w.KStr("connector_name", a.name)
		w.KStr("action_name", a.action)
		if ev == "CONNECTOR_CALL_REQUESTED" {
			w.Key("input")
			w.Open()
			w.Key("query")
			s.content(w, c, r, simkit.Pick(r, appQueries))
			w.Close()
		} else {
			w.Key("output")
			w.Open()
			w.Key("text")
			s.content(w, c, r, simkit.Pick(r, appResults))
			w.Close()
		}
	case "SKILL_USED":
		w.KStr("skill_name", simkit.Pick(r, []string{"web_browsing", "code_interpreter", "image_generation"}))
	default:
		w.Key("run_id")
		w.id("run_", r, alnum, 20)
	}
	w.Close()
}

// unknownType writes what a type the project does not know might carry:
// the envelope, an actor (one of an unknown kind now and then), and
// members nobody has seen, nested.
func (s *Server) unknownType(w *jw, c *lineCtx) {
	r := &c.r
	switch r.Intn(4) {
	case 0:
		w.Key("actor")
		w.Open()
		w.KStr("type", "SERVICE_PRINCIPAL")
		w.Key("id")
		w.id("sp_", r, alnum, 16)
		w.Close()
	case 1:
		s.keyActor(w, r)
	default:
		s.userActor(w, simkit.Pick(r, s.dir.users))
	}
	w.KStr("action", simkit.Pick(r, []string{"EXPORTED", "VIEWED", "SHARED"}))
	w.Key("details")
	w.Open()
	w.Key("items")
	w.OpenArray()
	for range r.Between(0, 3) {
		w.Open()
		w.Key("id")
		w.id("itm_", r, alnum, 10)
		w.KInt("size", int64(r.Between(1, 1<<20)))
		w.Key("tags")
		w.Null()
		w.Close()
	}
	w.CloseArray()
	w.KBool("new_flag", r.Chance(0.5))
	w.Close()
}
