// Package webhook is the "webhook" sink: it POSTs the events that match a
// filter (event types with wildcards, actors, projects) to an HTTP endpoint,
// as generic JSON ({"events":[...raw events...]}) or as a Slack-compatible
// message ({"text": ...}), signed with HMAC-SHA256 so that the receiver can
// verify the sender:
//
//	X-Auditrelay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">
//
// Requests are sent and their answers classified by package httpbatch, as
// for every HTTP sink: 2xx is delivered; 408, 429 and 5xx are retryable
// (Retry-After honoured by the runner); 413 halves the request; a redirect
// and any other status are permanent. Events that do not match the filter
// count as delivered. It is meant for alerts (a user was deleted), not for
// bulk forwarding.
package webhook
