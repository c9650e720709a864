// Package ocsf provides the "ocsf" transform: it maps the events of every
// vendor (OpenAI audit logs and request logs, ChatGPT compliance records,
// Anthropic compliance activities) to OCSF 1.8.0 (Open Cybersecurity
// Schema Framework), the schema of Amazon Security Lake, Splunk's OCSF
// add-on and Datadog Cloud SIEM, and sets Event.Schema to "ocsf".
//
// Classes (README.md has the table, per vendor): Authentication (3002)
// for sign-ins, sign-outs and tokens issued; Account Change (3001) for
// users, invitations, keys and service accounts; User Access Management
// (3005) for roles given and taken; Group Management (3006); Entity
// Management (3004) for projects, settings, allow-lists, certificates,
// limits, apps and agents; API Activity (6003) for API calls,
// conversation messages, Codex and agent runs; the base event (0) for a
// type no mapping knows, its original kept.
//
// The vendor packages (schema/openai, schema/chatgpt, schema/anthropic)
// say who did an event, to whom, to what and how severe it is; the
// mapping does no schema lookup at run time. The original event is kept
// under "unmapped" (default) or as a string in "raw_data". The tests check
// every mapped record against the facts internal/schemagen derives from
// the published schema release (testdata/ocsfschema).
package ocsf
