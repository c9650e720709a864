package filter

import (
	"errors"
	"fmt"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Match lists patterns per event field. Within one list any pattern may
// match; how lists combine depends on whether Match is used to include or to
// exclude (see Config).
type Match struct {
	// Types are event type patterns (`login.*`, `api_key.created`).
	Types []string `koanf:"types"`
	// ActorIDs are actor id patterns (user-..., key_..., svc_acct_...).
	ActorIDs []string `koanf:"actor_ids"`
	// ActorEmails are actor e-mail patterns (`*@contractor.example`),
	// matched case-insensitively.
	ActorEmails []string `koanf:"actor_emails"`
	// ProjectIDs are project id patterns.
	ProjectIDs []string `koanf:"project_ids"`
	// Sources are source name patterns.
	Sources []string `koanf:"sources"`
}

func (m Match) empty() bool {
	return len(m.Types)+len(m.ActorIDs)+len(m.ActorEmails)+len(m.ProjectIDs)+len(m.Sources) == 0
}

// Config configures the filter transform: it keeps or drops events by
// type, actor, project and source, with patterns.
//
// An event is kept when it matches include and does not match exclude.
// include matches when every non-empty list in it matches (types AND
// projects ...); an empty include matches everything. exclude matches when
// any non-empty list in it matches (types OR actors ...). At least one
// pattern must be configured. A dropped event counts as delivered.
type Config struct {
	// Include keeps only the events that match every list it sets (types
	// AND projects ...); left out, it keeps every event.
	Include Match `koanf:"include"`
	// Exclude drops the events that match any list it sets (types OR
	// actors ...), after include.
	Exclude Match `koanf:"exclude"`
}

var _ pipeline.Config = (*Config)(nil)

// Validate implements pipeline.Config.
func (c *Config) Validate() error {
	var errs []error
	if c.Include.empty() && c.Exclude.empty() {
		errs = append(errs, pipeline.FieldError("include", "include or exclude must list at least one pattern"))
	}
	for _, sec := range []struct {
		name string
		m    Match
	}{{"include", c.Include}, {"exclude", c.Exclude}} {
		for _, l := range []struct {
			key string
			ps  []string
		}{{"types", sec.m.Types}, {"actor_ids", sec.m.ActorIDs}, {"actor_emails", sec.m.ActorEmails},
			{"project_ids", sec.m.ProjectIDs}, {"sources", sec.m.Sources}} {
			for i, p := range l.ps {
				key := fmt.Sprintf("%s.%s[%d]", sec.name, l.key, i)
				if p == "" {
					errs = append(errs, pipeline.FieldError(key, "must not be empty"))
				} else if err := pipeline.ValidPattern(p); err != nil {
					errs = append(errs, pipeline.FieldError(key, "%q: %v", p, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}
