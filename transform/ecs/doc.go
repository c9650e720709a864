// Package ecs provides the "ecs" transform: it maps OpenAI audit-log and
// request-log events to the Elastic Common Schema (ECS 8.x) and sets
// Event.Schema to "ecs": event.action/category/type/outcome per event
// family, user.* (and user.target.* for user changes), source.ip with
// source.geo and source.as from ip_address_details, user_agent.original,
// tls.client.ja3, related.ip/user, observer.vendor, and the original event
// under "openai" (enrichment under "auditrelay" is kept as is and feeds
// user.name, event.severity and labels).
//
// It is not an Elastic integration package: no ingest pipeline or index
// template is shipped.
package ecs
