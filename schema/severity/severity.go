// Package severity is the one way the project ranks an event type: a level
// of OCSF's scale and a table of rules tried in order, each giving a level
// to the types that match its pattern. Each vendor package (schema/openai,
// schema/anthropic, schema/chatgpt) holds its own table and answers with Of
// (OfAny for ChatGPT's records, which a rule may name by type or by type
// and sub-type); enrich lets a user's rules go first.
package severity

import "github.com/auditrelay/auditrelay/pipeline"

// Level is the severity of an event type: info, low, medium, high or
// critical (OCSF's scale; ID gives its severity_id).
type Level string

// The levels, from routine to alarming.
const (
	Info     Level = "info"
	Low      Level = "low"
	Medium   Level = "medium"
	High     Level = "high"
	Critical Level = "critical"
)

// levelIDs are OCSF severity_id values.
var levelIDs = map[Level]int{Info: 1, Low: 2, Medium: 3, High: 4, Critical: 5}

// ID returns the OCSF severity_id of l (0 for an unknown level).
func (l Level) ID() int { return levelIDs[l] }

// Valid reports whether l is one of the levels.
func (l Level) Valid() bool { return levelIDs[l] > 0 }

// Named is the level named s, "" when s names none: a component reads so
// the level another wrote into an event (enrich's auditrelay.severity).
func Named(s string) Level {
	if l := Level(s); l.Valid() {
		return l
	}
	return ""
}

// Rule gives a level to the event types matching a pattern (pipeline.Match).
type Rule struct {
	Match string
	Level Level
}

// Of returns the level of an event of type typ: the first of overrides (a
// user's rules), then of table (a vendor's), that matches; info when none
// does. A request that failed is at least low: a failure nobody ranked is
// still worth more than routine.
func Of(overrides, table []Rule, typ string, failed bool) Level {
	return OfAny(overrides, table, []string{typ}, failed)
}

// OfAny is Of for an event known by more than one name (a ChatGPT record:
// its type, and its type and sub-type joined by a dot): a rule matches
// when its pattern matches any of names. The first rule that matches
// wins, as in Of, whichever of the names it matched.
func OfAny(overrides, table []Rule, names []string, failed bool) Level {
	l := Info
	for _, list := range [][]Rule{overrides, table} {
		if r, ok := first(list, names); ok {
			l = r.Level
			break
		}
	}
	if failed && l == Info {
		l = Low
	}
	return l
}

// AtLeast is the higher of l and floor.
func AtLeast(l, floor Level) Level {
	if l.ID() < floor.ID() {
		return floor
	}
	return l
}

func first(rules []Rule, names []string) (Rule, bool) {
	for _, r := range rules {
		for _, n := range names {
			if pipeline.Match(r.Match, n) {
				return r, true
			}
		}
	}
	return Rule{}, false
}
