package main

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/transform/detect"
)

// alertCounter runs the default detection pack over the events a query
// reads, as a pipeline would have run it over the same range: stats
// --detect tells how many alerts each rule would raise before the pack is
// turned on. The API pages newest first and the rules need the events
// oldest first, so it keeps the events a rule reads (most are read by
// none: their bytes are not kept) and runs them once the walk is done.
type alertCounter struct {
	d   *detect.Detect
	evs []pipeline.Event
}

func newAlertCounter() (*alertCounter, error) {
	d, err := detect.New(detect.DefaultConfig(), "", nil)
	if err != nil {
		return nil, err
	}
	return &alertCounter{d: d}, nil
}

// add keeps ev if a rule reads it; its bytes are copied (a page's are
// reused).
func (c *alertCounter) add(ev *pipeline.Event) {
	if !c.d.Reads(ev) {
		return
	}
	k := *ev
	k.SetRaw(append([]byte(nil), ev.Raw...))
	c.evs = append(c.evs, k)
}

// count runs the kept events oldest first, in windows of a thousand
// committed one after the other, and returns the alerts per rule.
func (c *alertCounter) count(ctx context.Context) (map[string]int, error) {
	slices.SortStableFunc(c.evs, func(a, b pipeline.Event) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.ID, b.ID))
	})
	perRule := map[string]int{}
	for _, r := range c.d.Rules() {
		perRule[r] = 0
	}
	for i := 0; i < len(c.evs); i += 1000 {
		w := pipeline.Batch{Source: "stats", Events: c.evs[i:min(i+1000, len(c.evs))]}
		out, err := c.d.ProcessWindow(ctx, "stats", []pipeline.Batch{w})
		if err != nil {
			return nil, err
		}
		if err := c.d.CommitWindow(ctx, "stats"); err != nil {
			return nil, err
		}
		for _, b := range out {
			for _, ev := range b.Events {
				if ev.Type != detect.AlertType {
					continue
				}
				var a detect.Alert
				if err := json.Unmarshal(ev.Raw, &a); err != nil {
					return nil, err
				}
				perRule[a.Rule]++
			}
		}
	}
	return perRule, nil
}
