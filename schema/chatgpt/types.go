package chatgpt

import "github.com/auditrelay/auditrelay/schema/internal/jsonread"

// Schema names the shape of a compliance log record in pipeline.Event.
const Schema = "chatgpt.compliance_log"

// The event types of the Compliance Logs API. Each exported file holds
// records of one type.
const (
	TypeConversationMessage = "CONVERSATION_MESSAGE"
	TypeAuditLog            = "AUDIT_LOG"
	TypeAuthLog             = "AUTH_LOG"
	TypeAppLog              = "APP_LOG"
	TypeAppAuthLog          = "APP_AUTH_LOG"
	TypeCodexLog            = "CODEX_LOG"
	TypeCodexSecurityLog    = "CODEX_SECURITY_LOG"
	TypeCustomAgentsLog     = "CUSTOM_AGENTS_LOG"
	// TypePluginSpreadsheet is named by one collector; no sample of it is
	// known, so it is read like an unknown type.
	TypePluginSpreadsheet = "CHATGPT_PLUGIN_SPREADSHEET"
)

// EventTypes lists the event types known to the project, in the order
// collectors list them. The API has more (one vendor counts twelve): a
// source must pass any other type through, and may list this slice to know
// which types to ask for. Do not modify it.
var EventTypes = []string{
	TypeConversationMessage, TypeAuditLog, TypeAuthLog, TypeAppLog, TypeAppAuthLog,
	TypeCodexLog, TypeCodexSecurityLog, TypeCustomAgentsLog, TypePluginSpreadsheet,
}

// The kinds of actor a record names (actor.type).
const (
	ActorUser   = "ACCOUNT_USER"
	ActorAPIKey = "API_KEY"
	ActorAgent  = "AGENT"
)

// Path is where a value lies in a record: the member names from the top
// object down. The value may be a string, or an object or array whose every
// string counts.
type Path []string

// contentPaths are the members that hold what people (and the models
// answering them) wrote, by type. The conversation message's text and
// title and APP_LOG's input and output are named by the API's samples; the
// members of CUSTOM_AGENTS_LOG's event_details that carry an agent run's
// messages, a connector call's input and output, an agent's instructions
// and what it remembers are our reading: no published sample shows them.
var contentPaths = map[string][]Path{
	TypeConversationMessage: {{"message", "content", "value"}, {"conversation", "title"}},
	TypeAppLog:              {{"input"}, {"output"}},
	TypeCustomAgentsLog: {
		{"event_details", "message", "content"},
		{"event_details", "input"},
		{"event_details", "output"},
		{"event_details", "instructions"},
		{"event_details", "memory", "content"},
	},
}

// ContentPaths returns the paths of the members of a record of eventType
// that hold conversation or user content, the values a redaction step must
// treat as free text that may carry anything (keys, addresses, card
// numbers). Types without such members (and unknown types) give nil. The
// result is a copy the caller may keep.
func ContentPaths(eventType string) []Path { return jsonread.ClonePaths(contentPaths[eventType]) }
