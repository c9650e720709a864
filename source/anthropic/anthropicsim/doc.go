// Package anthropicsim is a deterministic simulator of the activity feed
// of Anthropic's Compliance API, served over real HTTP on a listener the
// caller binds.
//
// It serves GET /v1/compliance/activities as the API notes describe it:
//
//   - activity_types[] or exclude_activity_types[] (not both: 400);
//     actor_ids[] with its alias user_ids[], merged (the user_actor's
//     user_id); organization_ids[] (org_... id or UUID);
//     created_at.gte/.gt/.lte/.lt, RFC 3339 (anything else: 400 naming
//     the parameter and the value); after_id or before_id (not both; an
//     id of no activity: 400), relative to the order; limit 1..5000
//     (default 100); order desc (default) or asc.
//   - The answer {"data":[...],"has_more":..,"first_id":..,"last_id":..},
//     ids null on an empty page. Newest first by default, ties broken by
//     id. before_id returns the limit activities nearest the cursor on the
//     newer side (older in asc), still in the order asked for.
//   - x-api-key (401 without it or with a key the organization does not
//     have; such requests spend no budget), the scope
//     read:compliance_activities (403 with the API's message), the
//     anthropic-version header (400 without it). Errors are
//     {"type":"error","error":{"type","message"}} with a request-id
//     header on every answer.
//   - A budget per parent organization, shared by all its keys and every
//     /v1/compliance/ path: 600 requests a minute unless
//     Options.RequestsPerMinute says otherwise, a token bucket run with
//     golang.org/x/time/rate on the wall clock. Every authenticated answer
//     carries anthropic-ratelimit-requests-limit, -remaining and -reset
//     (RFC 3339); beyond the budget the answer is 429 rate_limit_error
//     with retry-after in seconds.
//
// Activities are never stored: activity i is rendered on demand from a
// random stream seeded by (Seed, i); its created_at (whole seconds) is a
// monotone function of i, so a time range is a binary search; its id
// encodes created_at, i and a keyed check, so ids sort in the API's order,
// a cursor decodes without a lookup and a made-up id is refused. The same
// Options give the same bytes. There are over a hundred activity types
// with the members of the published samples, every actor kind the notes
// list (user, API key, admin key, unauthenticated user, Anthropic, SCIM
// directory sync, system, service account, federated identity, federated,
// attested device), plus a type and an actor kind no list names, which a
// reader must pass through. compliance_api_accessed carries the url and
// request_body the caller sent, now and then with a key or a webhook URL
// in them; actors carry e-mail addresses and IP addresses.
//
// Time is injectable (Options.Now): activity i exists once its instant is
// not after Now; with Options.Rate new activities keep coming as the clock
// advances; Options.LateFraction of them become visible only up to
// Options.MaxLate (a minute) after their created_at, behind newer ones.
// The Date header reports Now.
//
// Faults (FaultKind) are drawn per request from a seeded sequence: 500
// with x-should-retry: false, 502 and 504 as a proxy's HTML, 503, 529
// overloaded_error, slow answers, reset connections, truncated bodies and
// pages that repeat their cursor's activity (delivery is at least once).
// Options.Latency delays every answer by a log-normal draw.
//
// For assertions, Truth lists every visible activity id (also by
// organization), the late ones and the secrets written; Activity,
// ActivityID and VisibleAt describe any one; Stats counts requests by
// status, faults, the budget spent and the 429s.
//
// It is for tests and benchmarks; package anthropicsimtest serves it for a
// test. It serves no other Compliance API endpoint, keeps activities
// forever, and makes no claim about the real API's latency or how it
// breaks.
package anthropicsim
