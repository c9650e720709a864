package detect

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/auditrelay/auditrelay/deploy/rules"
	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/schema/severity"
)

// packFile is the shape of a rule pack.
type packFile struct {
	Rules []Rule `yaml:"rules"`
}

// loadPack reads the shipped pack name: every key known, every rule valid.
func loadPack(name string) ([]Rule, error) {
	b, ok := rules.Pack(name)
	if !ok {
		return nil, fmt.Errorf("no pack %q", name)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f packFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("pack %q: %w", name, err)
	}
	for i := range f.Rules {
		if err := f.Rules[i].validate(); err != nil {
			return nil, fmt.Errorf("pack %q: rule %q: %w", name, f.Rules[i].Name, err)
		}
	}
	return f.Rules, nil
}

// rules returns the rules to run: the packs', then the config's, without
// the disabled ones. A name given twice is an error naming both places.
func (c *Config) rules() ([]Rule, error) {
	var out []Rule
	from := map[string]string{}
	add := func(r Rule, where string) error {
		for _, p := range c.Disable {
			if pipeline.Match(p, r.Name) {
				return nil
			}
		}
		if prev, dup := from[r.Name]; dup {
			return pipeline.FieldError("rules", "rule %q of %s is also in %s: rename it, or disable the pack's", r.Name, where, prev)
		}
		from[r.Name] = where
		out = append(out, r)
		return nil
	}
	for _, p := range c.Packs {
		rs, err := loadPack(p)
		if err != nil {
			return nil, pipeline.FieldError("packs", "%v", err)
		}
		for _, r := range rs {
			if err := add(r, "pack "+p); err != nil {
				return nil, err
			}
		}
	}
	for _, r := range c.Rules {
		if err := add(r, "rules"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// rule is a Rule ready to run.
type rule struct {
	Rule
	level     severity.Level
	where     []condition
	groupBy   field
	firstSeen field
}

type condition struct {
	Condition
	f field
}

func compile(r Rule) (*rule, error) {
	cr := &rule{Rule: r, level: severity.Named(r.Severity)}
	if cr.level == "" {
		cr.level = severity.Named("medium")
	}
	var err error
	for _, w := range r.Where {
		c := condition{Condition: w}
		if c.f, err = parseField(w.Field); err != nil {
			return nil, err
		}
		cr.where = append(cr.where, c)
	}
	if r.GroupBy != "" {
		if cr.groupBy, err = parseField(r.GroupBy); err != nil {
			return nil, err
		}
	}
	if r.FirstSeen != "" {
		if cr.firstSeen, err = parseField(r.FirstSeen); err != nil {
			return nil, err
		}
	}
	return cr, nil
}

// selects reports whether the rule reads events of schema and typ.
func (r *rule) selects(schema, typ string) bool {
	if len(r.Schemas) > 0 && !matchAny(r.Schemas, schema) {
		return false
	}
	return matchAny(r.Types, typ)
}

// holds reports whether every condition holds for ev.
func (r *rule) holds(ev *reading) bool {
	for _, c := range r.where {
		vals := ev.values(c.f)
		if !c.test(vals) {
			return false
		}
	}
	return true
}

func (c condition) test(vals []string) bool {
	if len(c.Equals) == 0 && len(c.Matches) == 0 {
		for _, v := range vals {
			if v != "" {
				return true
			}
		}
		return false
	}
	for _, v := range vals {
		for _, e := range c.Equals {
			if v == e {
				return true
			}
		}
		if matchAny(c.Matches, v) {
			return true
		}
	}
	return false
}

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if pipeline.Match(p, s) {
			return true
		}
	}
	return false
}

// summary fills the rule's summary for an alert.
func (r *rule) summary(ev *reading, group, value string, count int) string {
	s := r.Summary
	if s == "" {
		s = r.Name
	}
	return expand(s, func(name string) (string, bool) {
		switch name {
		case "actor":
			return ev.one(field{kind: fActor}), true
		case "actor_email":
			return ev.one(field{kind: fActorEmail}), true
		case "ip":
			return ev.one(field{kind: fIP}), true
		case "country":
			return ev.one(field{kind: fCountry}), true
		case "type":
			return ev.ev.Type, true
		case "group":
			return group, true
		case "value":
			return value, true
		case "count":
			return strconv.Itoa(count), true
		case "within":
			if r.Threshold != nil {
				return r.Threshold.Within.String(), true
			}
			return "", true
		}
		return "", false
	})
}

// expand replaces each {name} in s for which value knows name; other
// braces stay as they are.
func expand(s string, value func(name string) (string, bool)) string {
	if !strings.Contains(s, "{") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		j := strings.IndexByte(s[i+1:], '}')
		if i < 0 || j < 0 {
			break
		}
		b.WriteString(s[:i])
		if v, ok := value(s[i+1 : i+1+j]); ok {
			b.WriteString(v)
		} else {
			b.WriteString(s[i : i+2+j])
		}
		s = s[i+2+j:]
	}
	b.WriteString(s)
	return b.String()
}
