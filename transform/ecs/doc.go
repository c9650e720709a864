// Package ecs provides the "ecs" transform: it maps the events of every
// vendor (OpenAI's audit and request logs, ChatGPT's compliance records,
// Anthropic's compliance activities) to the Elastic Common Schema (ECS
// 8.x) and sets Event.Schema to "ecs". A rule table per vendor gives
// event.category and event.type (ECS's controlled vocabularies, each type
// one ECS expects with each category) to a type family; event.action is the
// vendor's type (with ChatGPT's sub-type), event.outcome what the vendor
// says of success. Who did it (user.*, user.effective.* for an agent
// acting for a person), whom it was about (user.target.*), where the
// request came from (source.ip, source.geo, source.as, user_agent.original,
// tls.client.ja3), the organization or workspace, and whether it failed
// are read through the vendor's schema package (schema/openai,
// schema/chatgpt, schema/anthropic), never from the JSON here. The
// original event is kept under the vendor's name; enrichment under
// "auditrelay" feeds user.name, event.severity and labels.
//
// It is not an Elastic integration package: no ingest pipeline or index
// template is shipped.
package ecs
