// Package ocsf provides the "ocsf" transform: it maps OpenAI audit-log and
// request-log events to OCSF 1.3 (Open Cybersecurity Schema Framework), the
// schema of Amazon Security Lake, Splunk's OCSF add-on and Datadog Cloud
// SIEM, and sets Event.Schema to "ocsf".
//
// Classes (transform/README.md has the full table):
//   - Authentication (3002): login.*, logout.*
//   - Account Change (3001): user.*, invite.*, role.assignment.*,
//     tenant.user.*, organization.user.* (request logs)
//   - Entity Management (3004): keys, projects, service accounts,
//     certificates, allowlists, rate limits, roles, groups, and the
//     fallback for every other or unknown type (activity from the verb,
//     else 99 Other)
//   - API Activity (6003): request-log API calls (chat.completions.create)
//
// The original event is kept under "unmapped" (default) or as a string in
// "raw_data"; enrichment (auditrelay.*) stays inside it and feeds severity_id.
// It is not a general OCSF validator; the tests check the fields it emits
// against the class definitions.
package ocsf
