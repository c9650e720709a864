// Package detect is the detect transform: it runs detection rules over the
// events of a window, in order, and adds an alert (an event of type
// auditrelay.alert) after the event that completes a rule's evidence, so
// that the alert travels to the sinks like any other event and a sink's
// accept section decides who receives it.
//
// A rule matches events by schema and type patterns and field conditions,
// then raises an alert for each match, for a threshold (N matches of one
// group within a duration) or for a first-seen value (a country never seen
// for a user). Its state (threshold hits, first-seen values in an LRU with
// a cap, cool-downs) moves with the source's cursor: the engine hands the
// transform whole windows (pipeline.WindowTransform) and commits its state
// before the cursor. Times are the events' own, never the clock, and an
// alert's id is derived from its rule, source and evidence: a window
// replayed after a crash raises the same alerts with the same ids.
//
// It does not deliver alerts (sinks do), read vendor shapes itself (the
// schema packages do), or keep events.
package detect
