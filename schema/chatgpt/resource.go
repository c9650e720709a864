package chatgpt

import "strconv"

// Resource is what a record is about besides a person (TargetUser says
// who): Kind names what it is, ID and Name are as the record gives them
// (either may be "").
type Resource struct{ Kind, ID, Name string }

// Resource is what the record is about, by type and sub-type: a
// message's conversation; an app a person linked or called; a Codex
// access token, MCP server or tool; a security finding or the repository
// of a scan configuration; a custom agent (the actor) or the connector,
// memory or skill its run used; the feature a workspace toggled, the log
// type its compliance logs were listed for. The zero Resource when the
// record names none (an unknown type, a sign-in, a role change).
func (f *Fields) Resource() Resource {
	a, x := &f.about, &f.about.details
	switch f.Type() {
	case TypeConversationMessage:
		return Resource{Kind: "conversation", ID: a.conversationID.Str()}
	case TypeAppLog, TypeAppAuthLog:
		if a.appID.Str() == "" && a.appName.Str() == "" {
			return Resource{}
		}
		return Resource{Kind: "app", ID: a.appID.Str(), Name: a.appName.Str()}
	case TypeCodexLog:
		switch {
		case x.tokenID.Str() != "":
			return Resource{Kind: "access_token", ID: x.tokenID.Str()}
		case x.serverLabel.Str() != "":
			return Resource{Kind: "mcp_server", Name: x.serverLabel.Str()}
		case x.toolName.Str() != "":
			return Resource{Kind: "tool", Name: x.toolName.Str()}
		}
	case TypeCodexSecurityLog:
		switch {
		case x.findingID.Str() != "":
			return Resource{Kind: "finding", ID: x.findingID.Str()}
		case x.repository.Str() != "":
			return Resource{Kind: "scan_configuration", Name: x.repository.Str()}
		}
	case TypeCustomAgentsLog:
		switch {
		case x.connectorID.Str() != "" || x.connectorName.Str() != "":
			return Resource{Kind: "connector", ID: x.connectorID.Str(), Name: x.connectorName.Str()}
		case x.memoryID.Str() != "":
			return Resource{Kind: "memory", ID: x.memoryID.Str()}
		case x.skillName.Str() != "":
			return Resource{Kind: "skill", Name: x.skillName.Str()}
		}
		if ac := f.Actor(); ac.Kind == ActorAgent && (ac.AgentID != "" || ac.AgentName != "") {
			return Resource{Kind: "custom_agent", ID: ac.AgentID, Name: ac.AgentName}
		}
	case TypeAuditLog:
		switch {
		case a.feature.Str() != "":
			return Resource{Kind: "feature", Name: a.feature.Str()}
		case a.logEventType.Str() != "":
			return Resource{Kind: "compliance_log_files", Name: a.logEventType.Str()}
		}
	}
	return Resource{}
}

// Role is the role an AUDIT_LOG's action gave (action_data.role: the new
// role of a user, the role of an invitation) and the one it replaced
// (previous_role), or an AUTH_LOG's signed-in person's role; "" when
// absent.
func (f *Fields) Role() (role, previous string) {
	return f.about.role.Str(), f.about.previousRole.Str()
}

// Enabled is what an AUDIT_LOG's toggle set (action_data.enabled); ok is
// false when the record says nothing.
func (f *Fields) Enabled() (enabled, ok bool) {
	switch string(f.about.enabled) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// Message is a CONVERSATION_MESSAGE's message id, the model that wrote an
// assistant's message (message.author.model) and the client a person
// wrote from (message.author.client_type); "" when absent.
func (f *Fields) Message() (id, model, clientType string) {
	a := &f.about
	return a.messageID.Str(), a.model.Str(), a.clientType.Str()
}

// ClientID is the client a Codex or custom-agent record came from
// (client_id: CODEX_CLI, AGENT_BUILDER_WEB, ...); "" when absent.
func (f *Fields) ClientID() string { return f.about.clientID.Str() }

// Tokens is the token usage a CODEX_LOG reports
// (event_details.token_usage); ok is false when it reports none or its
// counts are not whole numbers.
func (f *Fields) Tokens() (input, output int64, ok bool) {
	x := &f.about.details
	in, err1 := strconv.ParseInt(string(x.inputTokens), 10, 64)
	out, err2 := strconv.ParseInt(string(x.outputTokens), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return in, out, true
}
