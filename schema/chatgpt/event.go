package chatgpt

import (
	"errors"
	"fmt"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Parse builds a pipeline event from one record: ID from event_id, Type
// from type, Time from timestamp, the actor (Actor.ID and the person's
// e-mail) and, as ProjectID, the workspace the record belongs to (the
// nearest thing this vendor has to a project: the scope of the record). It
// requires a JSON object with a string event_id and an RFC 3339 timestamp
// and accepts anything else: a record without type, of an unknown type or
// with an unknown actor kind passes with those fields empty. Raw is raw,
// untouched.
func Parse(raw []byte, source string, observed time.Time) (pipeline.Event, error) {
	f, err := ReadObject(raw)
	if err != nil {
		return pipeline.Event{}, fmt.Errorf("compliance log record: %w", err)
	}
	return f.Event(raw, source, observed)
}

// Event builds the pipeline event of the record raw, whose fields f are (as
// ReadObject found them). Parse says what it requires.
func (f *Fields) Event(raw []byte, source string, observed time.Time) (pipeline.Event, error) {
	id := f.ID()
	if id == "" {
		return pipeline.Event{}, errors.New("compliance log record: no event_id")
	}
	t, err := f.Time()
	if err != nil {
		return pipeline.Event{}, fmt.Errorf("compliance log record %s: %w", id, err)
	}
	a := f.Actor()
	return pipeline.Event{
		ID: id, Type: f.Type(), Time: t, ObservedAt: observed, Source: source, Schema: Schema, Raw: raw,
		ActorID: a.ID(), ActorEmail: a.AccountEmail(), ProjectID: f.WorkspaceID(),
	}, nil
}

// ID is event_id, the key that tells duplicates apart (delivery is at
// least once); "" when it is absent or not a string.
func (f *Fields) ID() string { return f.eventID.Str() }

// Type is the record's type (CONVERSATION_MESSAGE, AUDIT_LOG, ...).
func (f *Fields) Type() string { return f.typ.Str() }

// Time is timestamp, RFC 3339 (the API writes microseconds and Z). An
// absent or unreadable timestamp is an error that says which.
func (f *Fields) Time() (time.Time, error) { return f.timestamp.Time("timestamp") }

// SubType tells records of one type apart, as the type names it: AUDIT_LOG
// and APP_AUTH_LOG's action, AUTH_LOG's action_data.action, the event_type
// of CODEX_LOG, CODEX_SECURITY_LOG and CUSTOM_AGENTS_LOG, APP_LOG's
// log_type (request or response), and CONVERSATION_MESSAGE's
// message.author.type (user, assistant, ...). "" for an unknown type.
func (f *Fields) SubType() string {
	switch f.Type() {
	case TypeAuditLog, TypeAppAuthLog:
		return f.action.Str()
	case TypeAuthLog:
		return f.dataAction.Str()
	case TypeCodexLog, TypeCodexSecurityLog, TypeCustomAgentsLog:
		return f.eventType.Str()
	case TypeAppLog:
		return f.logType.Str()
	case TypeConversationMessage:
		return f.author.Str()
	}
	return ""
}

// WorkspaceID is the workspace the record belongs to: principal.id, else
// (a CODEX_LOG without principal) workspace_id.
func (f *Fields) WorkspaceID() string {
	if id := f.principal.id.Str(); id != "" {
		return id
	}
	return f.workspaceID.Str()
}

// PrincipalType is principal.type (CHATGPT_WORKSPACE).
func (f *Fields) PrincipalType() string { return f.principal.kind.Str() }

// Actor is who did a record: a person (ACCOUNT_USER), an API key, or an
// agent acting for a person (its delegator).
type Actor struct {
	// Kind is actor.type: ACCOUNT_USER, API_KEY or AGENT. Another kind
	// passes through with the other fields empty.
	Kind string
	// UserID and Email are an ACCOUNT_USER's user_id and user_email.
	UserID, Email string
	// KeyID is an API_KEY's redacted_id (sk-...RxIA): the API never shows
	// more of the key.
	KeyID string
	// AgentID, AgentName and ProductType describe an AGENT; RuntimeID and
	// TaskID are the run and the task it was doing.
	AgentID, AgentName, ProductType, RuntimeID, TaskID string
	// DelegatorID and DelegatorEmail are the person an AGENT acted for
	// (agent_runtime.delegator, a user actor).
	DelegatorID, DelegatorEmail string
}

// Actor is the actor of the record; a record without one gives the zero
// Actor.
func (f *Fields) Actor() Actor {
	a := f.actor
	if !a.object {
		return Actor{}
	}
	out := Actor{Kind: a.kind.Str()}
	switch out.Kind {
	case ActorUser:
		out.UserID, out.Email = a.userID.Str(), a.userEmail.Str()
	case ActorAPIKey:
		out.KeyID = a.redactedID.Str()
	case ActorAgent:
		out.AgentID, out.AgentName, out.ProductType = a.id.Str(), a.name.Str(), a.productType.Str()
		out.RuntimeID, out.TaskID = a.runtimeID.Str(), a.taskID.Str()
		out.DelegatorID, out.DelegatorEmail = a.delegatorID.Str(), a.delegatorE.Str()
	}
	return out
}

// ID is the id that stands for the actor: the person, the key's redacted
// id, or the agent (not its delegator: the agent did it).
func (a Actor) ID() string {
	switch a.Kind {
	case ActorUser:
		return a.UserID
	case ActorAPIKey:
		return a.KeyID
	case ActorAgent:
		return a.AgentID
	}
	return ""
}

// AccountEmail is the address of the person accountable for the record:
// the user, or the person an agent acted for; "" for an API key.
func (a Actor) AccountEmail() string {
	if a.Kind == ActorAgent {
		return a.DelegatorEmail
	}
	return a.Email
}

// Client is where a request came from: request_metadata, which AUDIT_LOG,
// AUTH_LOG and some CODEX_LOG records carry. Coordinates and the AS number
// are as the API wrote them (strings, "" when absent).
type Client struct {
	IP, UserAgent, JA3, JA4, DestinationHost string
	Country, Region, RegionCode, City        string
	ASN, Latitude, Longitude                 string
}

// Client is the record's request_metadata; the zero Client when it has
// none.
func (f *Fields) Client() Client {
	c := f.client
	return Client{
		IP: c.ip.Str(), UserAgent: c.userAgent.Str(), JA3: c.ja3.Str(), JA4: c.ja4.Str(), DestinationHost: c.destination.Str(),
		Country: c.country.Str(), Region: c.region.Str(), RegionCode: c.regionCode.Str(), City: c.city.Str(),
		ASN: scalar(c.asn), Latitude: scalar(c.latitude), Longitude: scalar(c.longitude),
	}
}

// scalar is a string's value or a number's text; "" otherwise. The API
// writes coordinates as strings, but nothing promises it.
func scalar(t text) string {
	if len(t) > 0 && (t[0] == '-' || (t[0] >= '0' && t[0] <= '9')) {
		return string(t)
	}
	return t.Str()
}
