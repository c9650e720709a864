// Package enrich provides the "enrich" transform. It adds, under a top-level
// "auditrelay" object and never over OpenAI's own fields:
//   - names and e-mails of the actor, project, API key, service account and
//     target user, resolved through the Admin API list endpoints
//     (/organization/users, /organization/projects, and per project
//     /api_keys and /service_accounts);
//   - severity and severity_id by event type (a documented default table
//     per vendor, schema/openai's or, for an Anthropic activity,
//     schema/anthropic's, for a ChatGPT compliance record schema/chatgpt's,
//     which ranks it by type and sub-type; overridable by rules);
//   - static labels, ingested_at (when the source fetched the event) and
//     host.
//
// The directory is loaded in Start (bounded by its ctx and timeout) and then
// refreshed in the background every refresh_interval, and sooner (at most
// once a minute) when an event names an id it does not know. Delivery never
// waits for the API: when the directory could not be loaded, is older than
// ttl, or lacks an id, the event passes with auditrelay.enriched = false.
// The directory is OpenAI's: an Anthropic activity and a ChatGPT record
// get severity, labels, ingested_at and host, and enriched = false.
// Memory is bounded by max_entries.
//
// It is not a general lookup service: it knows only the organization of its
// admin key.
package enrich
