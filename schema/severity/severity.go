// Package severity is the one way the project ranks an event type: a level
// of OCSF's scale and a table of rules tried in order, each giving a level
// to the types that match its pattern. Each vendor package (schema/openai,
// schema/anthropic) holds its own table and answers with Of; enrich lets a
// user's rules go first.
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
	l := Info
	for _, list := range [][]Rule{overrides, table} {
		if r, ok := first(list, typ); ok {
			l = r.Level
			break
		}
	}
	if failed && l == Info {
		l = Low
	}
	return l
}

func first(rules []Rule, typ string) (Rule, bool) {
	for _, r := range rules {
		if pipeline.Match(r.Match, typ) {
			return r, true
		}
	}
	return Rule{}, false
}
