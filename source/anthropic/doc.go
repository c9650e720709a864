// Package anthropic holds Anthropic's Compliance API as auditrelay reads
// it: the activity-feed source (type "anthropic_compliance_activities"),
// the reading of its list pages, and its client.
//
// The feed pages newest first (after_id walks to older activities) and
// filters on created_at, whose values are whole seconds, so the source
// plans its windows with package timewindow (overlap, seen ids, concurrent
// stretches committed in order) and reads them through package httpapi
// (retries, the request limiter, the guards of the page walker, the API's
// clock). What an activity is (its routing fields, actor, severity) is
// package schema/anthropic's; the simulator of the API is anthropicsim.
//
// The source only emits windows; the engine in package pipeline delivers
// them. It is not an SDK: it implements the one call auditrelay needs.
package anthropic
