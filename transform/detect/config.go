package detect

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/deploy/rules"
	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/schema/severity"
)

// Config configures the detect transform: detection rules over the events
// of every source, each match raising an alert, a new event of type
// auditrelay.alert inserted after its evidence.
//
// Rules come from the packs shipped in the binary (packs, default: the
// default pack of deploy/rules) and from rules. The state of thresholds,
// first-seen values and cool-downs is kept per source in state_dir and
// saved when a window commits, just before the source's cursor.
type Config struct {
	// Packs are the shipped rule packs to run (default [default]: API and
	// admin keys created, users deleted, SCIM, IP allow-lists and SSO
	// switched off, owner rights granted, bursts of failed logins and
	// countries never seen for a user, for OpenAI, ChatGPT and Anthropic);
	// [] runs only rules.
	Packs []string `koanf:"packs"`
	// Rules are rules of your own, run besides the packs' (see the
	// transform's README for their keys).
	Rules []Rule `koanf:"rules"`
	// Disable lists patterns of rule names not to run (a pack's rule that
	// is noise in your organization).
	Disable []string `koanf:"disable"`
	// StateDir keeps each source's detection state. Default: the
	// directory `detect` (`detect-NAME` for a transform named otherwise)
	// inside the file checkpoint store's dir, beside the cursors; with the memory checkpoint the state lives in memory;
	// with another store it must be set. A relative path is relative to
	// the config file's directory.
	StateDir string `koanf:"state_dir"`
	// LinkTemplate, when set, gives each alert a link back to its events:
	// {source}, {rule}, {id} (the last evidence event's id) and {ids}
	// (all of them, comma-separated) are replaced, URL-escaped.
	LinkTemplate string `koanf:"link_template"`
	// MaxEntries caps the state of each rule of each source: groups with
	// threshold hits, groups (users) with first-seen values, cool-downs
	// (default 10000). The least recently seen go first.
	MaxEntries int `koanf:"max_entries"`
}

// Rule is one detection rule.
type Rule struct {
	// Name names the rule in its alerts and in stats --detect (required,
	// unique).
	Name string `koanf:"name" yaml:"name"`
	// Summary is the alert's one line; {actor}, {actor_email}, {ip},
	// {country}, {type}, {group}, {value}, {count} and {within} are
	// replaced by the triggering event's values.
	Summary string `koanf:"summary" yaml:"summary"`
	// Severity is info, low, medium (default), high or critical.
	Severity string `koanf:"severity" yaml:"severity"`
	// Schemas are patterns of the event schemas the rule reads
	// (openai.audit_log, chatgpt.*); empty: every schema.
	Schemas []string `koanf:"schemas" yaml:"schemas"`
	// Types are patterns of the event types the rule reads (required).
	Types []string `koanf:"types" yaml:"types"`
	// Where are conditions on fields, all of which must hold.
	Where []Condition `koanf:"where" yaml:"where"`
	// GroupBy is the field whose value groups the matches for threshold,
	// first_seen and cooldown (ip, actor, ...); empty: one group. A match
	// without a value for it is left out.
	GroupBy string `koanf:"group_by" yaml:"group_by"`
	// Threshold raises the alert only when count matches of one group
	// arrive within a duration.
	Threshold *Threshold `koanf:"threshold" yaml:"threshold"`
	// FirstSeen is a field whose value, never seen before for the group
	// (a country for a user), raises the alert. The first value seen for
	// a new group is learnt without an alert.
	FirstSeen string `koanf:"first_seen" yaml:"first_seen"`
	// Cooldown is how long after an alert the group raises no other alert
	// of the rule (in the events' time; default 0: every match alerts).
	Cooldown time.Duration `koanf:"cooldown" yaml:"cooldown"`
}

// Threshold is N matches of one group within a duration.
type Threshold struct {
	// Count is the number of matches that raise the alert (at least 2).
	Count int `koanf:"count" yaml:"count"`
	// Within is the span of event time they must fall in.
	Within time.Duration `koanf:"within" yaml:"within"`
}

// Condition is a test on one field of an event. With neither equals nor
// matches, the field must be present.
type Condition struct {
	// Field is type, subtype, schema, source, actor, actor_email, ip,
	// country, payload.PATH or event.PATH (dot-separated members; an array
	// matches when one of its elements does).
	Field string `koanf:"field" yaml:"field"`
	// Equals holds when the field equals one of these (true, false and
	// numbers as JSON writes them).
	Equals []string `koanf:"equals" yaml:"equals"`
	// Matches holds when the field matches one of these patterns.
	Matches []string `koanf:"matches" yaml:"matches"`
}

// DefaultConfig returns the defaults: the default pack, state beside the
// checkpoint.
func DefaultConfig() *Config {
	return &Config{Packs: []string{"default"}, MaxEntries: 10000}
}

var (
	_ pipeline.Config      = (*Config)(nil)
	_ pipeline.SpecChecker = (*Config)(nil)
)

// Validate implements pipeline.Config.
func (c *Config) Validate() error {
	var errs []error
	for i, p := range c.Packs {
		if _, ok := rules.Pack(p); !ok {
			errs = append(errs, pipeline.FieldError(fmt.Sprintf("packs[%d]", i), "no pack %q (shipped: %s)", p, strings.Join(rules.Names(), ", ")))
		}
	}
	for i, p := range c.Disable {
		if err := pipeline.ValidPattern(p); err != nil || p == "" {
			errs = append(errs, pipeline.FieldError(fmt.Sprintf("disable[%d]", i), "%q is not a valid pattern", p))
		}
	}
	if c.MaxEntries < 1 {
		errs = append(errs, pipeline.FieldError("max_entries", "must be at least 1"))
	}
	if c.LinkTemplate != "" {
		if _, err := url.Parse(c.LinkTemplate); err != nil {
			errs = append(errs, pipeline.FieldError("link_template", "not a URL: %v", err))
		}
	}
	seen := map[string]string{}
	for i, r := range c.Rules {
		key := fmt.Sprintf("rules[%d]", i)
		errs = append(errs, pipeline.SectionErrors(key, r.validate())...)
		if prev, dup := seen[r.Name]; dup && r.Name != "" {
			errs = append(errs, pipeline.FieldError(key+".name", "%q is also the name of %s", r.Name, prev))
		}
		seen[r.Name] = key
	}
	if len(errs) == 0 {
		all, err := c.rules()
		if err != nil {
			errs = append(errs, err)
		} else if len(all) == 0 {
			errs = append(errs, pipeline.FieldError("rules", "no rule to run: set packs or rules"))
		}
	}
	return errors.Join(errs...)
}

func (r *Rule) validate() error {
	var errs []error
	if r.Name == "" {
		errs = append(errs, pipeline.FieldError("name", "must be set"))
	}
	if r.Severity != "" && severity.Named(r.Severity) == "" {
		errs = append(errs, pipeline.FieldError("severity", "%q: one of info, low, medium, high, critical", r.Severity))
	}
	if len(r.Types) == 0 {
		errs = append(errs, pipeline.FieldError("types", "must list at least one pattern"))
	}
	for _, l := range []struct {
		key string
		ps  []string
	}{{"types", r.Types}, {"schemas", r.Schemas}} {
		for i, p := range l.ps {
			if err := pipeline.ValidPattern(p); err != nil || p == "" {
				errs = append(errs, pipeline.FieldError(fmt.Sprintf("%s[%d]", l.key, i), "%q is not a valid pattern", p))
			}
		}
	}
	for i, w := range r.Where {
		key := fmt.Sprintf("where[%d]", i)
		if err := validField(w.Field); err != nil {
			errs = append(errs, pipeline.FieldError(key+".field", "%v", err))
		}
		for j, p := range w.Matches {
			if err := pipeline.ValidPattern(p); err != nil {
				errs = append(errs, pipeline.FieldError(fmt.Sprintf("%s.matches[%d]", key, j), "%q is not a valid pattern", p))
			}
		}
	}
	if r.GroupBy != "" {
		if err := validField(r.GroupBy); err != nil {
			errs = append(errs, pipeline.FieldError("group_by", "%v", err))
		}
	}
	if r.FirstSeen != "" {
		if err := validField(r.FirstSeen); err != nil {
			errs = append(errs, pipeline.FieldError("first_seen", "%v", err))
		}
		if r.GroupBy == "" {
			errs = append(errs, pipeline.FieldError("group_by", "must be set with first_seen: a value is new for a group (a user)"))
		}
		if r.Threshold != nil {
			errs = append(errs, pipeline.FieldError("first_seen", "a rule has threshold or first_seen, not both"))
		}
	}
	if t := r.Threshold; t != nil {
		if t.Count < 2 {
			errs = append(errs, pipeline.FieldError("threshold.count", "must be at least 2 (1 is a rule without threshold)"))
		}
		if t.Within <= 0 {
			errs = append(errs, pipeline.FieldError("threshold.within", "must be > 0"))
		}
	}
	if r.Cooldown < 0 {
		errs = append(errs, pipeline.FieldError("cooldown", "must not be negative"))
	}
	return errors.Join(errs...)
}

// CheckSpec implements pipeline.SpecChecker: without a state_dir the state
// goes beside the cursors of a file checkpoint store, or lives in memory
// with the memory store. Any other store (Kafka) keeps cursors where
// detect cannot write: state_dir must then be set.
func (c *Config) CheckSpec(self string, spec pipeline.Spec) error {
	if c.StateDir != "" {
		return nil
	}
	sd, ok := spec.Checkpoint.Config.(pipeline.StateDirer)
	if !ok {
		return pipeline.FieldError("state_dir", "must be set: the %s checkpoint store keeps no files beside which detection state could live", spec.Checkpoint.Type)
	}
	if dir := sd.StateDir(); dir != "" {
		// Two detect transforms must not share a directory: the second is
		// told apart by its name.
		sub := "detect"
		if self != "detect" {
			sub += "-" + url.PathEscape(self)
		}
		c.StateDir = filepath.Join(dir, sub)
	}
	return nil
}
