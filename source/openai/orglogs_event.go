package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// SchemaOrganizationLog names events exactly as the request-log API
// (/organization_logs) returns them.
const SchemaOrganizationLog = "openai.organization_log"

// orgLogIndex is the part of a request-log object the pipeline routes on.
type orgLogIndex struct {
	ID        string   `json:"id"`
	Event     string   `json:"event"`
	CreatedAt *float64 `json:"created_at"`
	Actor     *struct {
		Type string `json:"type"`
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"actor"`
	ProjectID string `json:"project_id"`
	Project   *struct {
		ID string `json:"id"`
	} `json:"project"`
}

// ParseOrganizationLog builds a pipeline event from one request-log object:
// ID from id, Type from event, Time from created_at, ActorID from actor.id,
// ActorEmail from actor.name when that is an e-mail address, ProjectID from
// project.id or project_id. It requires id, event and created_at; Raw is raw,
// untouched.
func ParseOrganizationLog(raw json.RawMessage, source string, observed time.Time) (pipeline.Event, error) {
	var ix orgLogIndex
	if err := json.Unmarshal(raw, &ix); err != nil {
		return pipeline.Event{}, err
	}
	switch {
	case ix.ID == "":
		return pipeline.Event{}, errors.New("organization log without id")
	case ix.Event == "":
		return pipeline.Event{}, fmt.Errorf("organization log %s without event", ix.ID)
	case ix.CreatedAt == nil || *ix.CreatedAt < 0 || *ix.CreatedAt > math.MaxInt32*4:
		return pipeline.Event{}, fmt.Errorf("organization log %s without a valid created_at", ix.ID)
	}
	ev := pipeline.Event{
		ID:         ix.ID,
		Type:       ix.Event,
		Time:       time.Unix(int64(*ix.CreatedAt), 0).UTC(),
		ObservedAt: observed,
		Source:     source,
		Schema:     SchemaOrganizationLog,
		Raw:        raw,
		ProjectID:  ix.ProjectID,
	}
	if ix.Project != nil && ix.Project.ID != "" {
		ev.ProjectID = ix.Project.ID
	}
	if a := ix.Actor; a != nil {
		ev.ActorID = a.ID
		if looksLikeEmail(a.Name) {
			ev.ActorEmail = a.Name
		}
	}
	return ev, nil
}

func looksLikeEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at < len(s)-1 && !strings.ContainsAny(s, " \t\r\n") && strings.Contains(s[at:], ".")
}
