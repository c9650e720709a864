package pipeline

import (
	"errors"
	"fmt"
	"slices"
)

// Accept is what one sink takes of the events every sink is offered: the
// one route of the pipeline, applied by the engine alike for every sink
// (a sink implements nothing for it). An alert of the detect transform
// (type auditrelay.alert) reaches an e-mail sink that accepts only alerts,
// while the archive takes everything. The zero Accept takes every event.
type Accept struct {
	// Types are event type patterns (`auditrelay.alert`, `login.*`): the
	// sink takes only the events whose type matches one. Empty: every type.
	Types []string `koanf:"types"`
	// ExcludeTypes are event type patterns the sink does not take, after
	// types (`auditrelay.alert` keeps alerts out of an archive).
	ExcludeTypes []string `koanf:"exclude_types"`
}

var _ Config = (*Accept)(nil)

// Validate implements Config.
func (a *Accept) Validate() error {
	var errs []error
	for _, l := range []struct {
		key string
		ps  []string
	}{{"types", a.Types}, {"exclude_types", a.ExcludeTypes}} {
		for i, p := range l.ps {
			key := fmt.Sprintf("%s[%d]", l.key, i)
			if p == "" {
				errs = append(errs, FieldError(key, "must not be empty"))
			} else if err := ValidPattern(p); err != nil {
				errs = append(errs, FieldError(key, "%q: %v", p, err))
			}
		}
	}
	return errors.Join(errs...)
}

// All reports whether a takes every event.
func (a Accept) All() bool { return len(a.Types) == 0 && len(a.ExcludeTypes) == 0 }

// Takes reports whether a sink with a takes an event of type typ.
func (a Accept) Takes(typ string) bool {
	if len(a.Types) > 0 && !matchAny(a.Types, typ) {
		return false
	}
	return !matchAny(a.ExcludeTypes, typ)
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if Match(p, name) {
			return true
		}
	}
	return false
}

// route returns the batches with only the events a takes; batches left
// empty are dropped. The batches are shared, not copied, when a takes all.
func (a Accept) route(in []Batch) []Batch {
	if a.All() {
		return in
	}
	out := make([]Batch, 0, len(in))
	for _, b := range in {
		first := slices.IndexFunc(b.Events, func(ev Event) bool { return !a.Takes(ev.Type) })
		if first < 0 {
			out = append(out, b) // all of it: shared, as the batches of a sink without accept are
			continue
		}
		evs := append(make([]Event, 0, len(b.Events)), b.Events[:first]...)
		for _, ev := range b.Events[first+1:] {
			if a.Takes(ev.Type) {
				evs = append(evs, ev)
			}
		}
		if len(evs) > 0 {
			out = append(out, Batch{Source: b.Source, Events: evs})
		}
	}
	return out
}

// accepting sets what the sink of s takes and returns s.
func (s *sinkSlot) accepting(a Accept) *sinkSlot {
	s.accept = a
	return s
}
