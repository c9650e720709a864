package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// SchemaAuditLog names events exactly as the audit-log API returns them.
const SchemaAuditLog = "openai.audit_log"

type userRef struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

// auditIndex is the part of an audit log object the pipeline routes on.
// Everything else stays in the raw bytes, untouched.
type auditIndex struct {
	ID          string   `json:"id"`
	Type        string   `json:"type"`
	EffectiveAt *float64 `json:"effective_at"`
	Project     *struct {
		ID string `json:"id"`
	} `json:"project"`
	Actor *actorIndex `json:"actor"`
}

type actorIndex struct {
	Type    string        `json:"type"`
	Session *sessionIndex `json:"session"`
	APIKey  *apiKeyIndex  `json:"api_key"`
}

type sessionIndex struct {
	User *userRef `json:"user"`
}

type apiKeyIndex struct {
	ID             string   `json:"id"`
	User           *userRef `json:"user"`
	ServiceAccount *struct {
		ID string `json:"id"`
	} `json:"service_account"`
}

// ParseAuditLog builds a pipeline event from one audit log object. It
// requires id, type and effective_at and accepts anything else, unknown
// types and fields included.
func ParseAuditLog(raw json.RawMessage, source string, observed time.Time) (pipeline.Event, error) {
	var ix auditIndex
	if err := scanAuditIndex(raw, &ix); err != nil {
		// The scanner only knows the shapes it reads; encoding/json is
		// the reference and decides (a string where an object was
		// expected, say).
		ix = auditIndex{}
		if err := json.Unmarshal(raw, &ix); err != nil {
			return pipeline.Event{}, err
		}
	}
	switch {
	case ix.ID == "":
		return pipeline.Event{}, errors.New("audit log without id")
	case ix.Type == "":
		return pipeline.Event{}, fmt.Errorf("audit log %s without type", ix.ID)
	case ix.EffectiveAt == nil || *ix.EffectiveAt < 0 || *ix.EffectiveAt > math.MaxInt32*4:
		return pipeline.Event{}, fmt.Errorf("audit log %s without a valid effective_at", ix.ID)
	}
	ev := pipeline.Event{
		ID:         ix.ID,
		Type:       ix.Type,
		Time:       time.Unix(int64(*ix.EffectiveAt), 0).UTC(),
		ObservedAt: observed,
		Source:     source,
		Schema:     SchemaAuditLog,
		Raw:        raw,
	}
	if ix.Project != nil {
		ev.ProjectID = ix.Project.ID
	}
	if a := ix.Actor; a != nil {
		switch {
		case a.Session != nil && a.Session.User != nil:
			ev.ActorID, ev.ActorEmail = a.Session.User.ID, a.Session.User.Email
		case a.APIKey != nil && a.APIKey.User != nil:
			ev.ActorID, ev.ActorEmail = a.APIKey.User.ID, a.APIKey.User.Email
		case a.APIKey != nil && a.APIKey.ServiceAccount != nil:
			ev.ActorID = a.APIKey.ServiceAccount.ID
		case a.APIKey != nil:
			ev.ActorID = a.APIKey.ID
		}
	}
	return ev, nil
}
