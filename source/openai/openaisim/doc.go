// Package openaisim is a deterministic, in-process simulator of OpenAI's
// organization Admin APIs, served over real HTTP.
//
// It serves the endpoints auditrelay reads:
//
//   - GET /v1/organization/audit_logs: newest first, with the real query
//     parameters (limit, after, before, effective_at[gt|gte|lt|lte],
//     event_types[], project_ids[], actor_ids[], actor_emails[],
//     resource_ids[], tenant_only) and the real list envelope and error body.
//   - GET /v1/organization/users, /v1/organization/projects,
//     /v1/organization/projects/{id}/api_keys and
//     /v1/organization/projects/{id}/service_accounts: the directory the audit
//     events refer to, so enrichment can resolve every actor and project.
//   - GET /v1/organization_logs and /v1/organization_logs/{id}: the
//     request-log API (asc or desc, after cursor, get by id).
//
// Events are never materialised: event i is rendered on demand from a
// random stream seeded by (Seed, i), its effective_at is a monotone function
// of i (so a time range is a binary search) and its id encodes i through a
// keyed permutation (so a cursor is decoded, not looked up). A simulator of
// millions of events therefore costs a few kilobytes of memory, and the
// same Options always produce the same bytes.
//
// Time is injectable (Options.Now): an event is visible once its
// visible_at (its precise instant, plus Options.LateDelay for the
// Options.LateFraction of late events) is not after Now. With
// Options.Rate > 0 new events keep appearing as the clock advances.
//
// Every response's Date header comes from Now, not from the machine's
// clock, because clients read the API's clock from it.
//
// Faults (429 with Retry-After, 500, 503, slow responses, connection
// resets, truncated, garbled and malformed-envelope bodies, and on the two
// log lists a cursor that loops and a 300,000-record page streamed as it is
// generated) are injected per request from a seeded sequence and can be
// changed at run time with SetFaults.
//
// Load is simulated too, so that a client's pacing, timeouts and
// concurrency can be exercised: Options.Latency delays every answer by a
// log-normal draw (long-tailed, like real response times), and
// Options.RateLimit (with Options.RateSchedule to change it during a run)
// refuses requests beyond a rate per API key with OpenAI's 429, usually
// with a Retry-After. Both run on the wall clock, whatever Now says.
//
// For assertions, VisibleIDs (and VisibleTenantIDs, VisibleLogIDs) list what
// a complete reader can fetch right now, Event and Log render any record,
// EventID and LogID name it, and Stats counts requests (by route), pages,
// records served, faults by kind and rate-limited requests. GET /_sim/stats
// serves the same counters as JSON, unauthenticated, to a harness in
// another process.
//
// It is for tests, benchmarks and the demo and simulate commands. It is not
// a mock of every Admin endpoint, it does not accept writes, and it makes no
// claim about OpenAI's undocumented rate limits or retention.
package openaisim
