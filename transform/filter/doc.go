// Package filter provides the "filter" transform: it keeps or drops events by
// event type, actor id or e-mail, project id and source name, using the index
// fields sources fill on every event, so it never decodes an event.
//
// Patterns mean what pipeline.Match says, as everywhere in the config: '*'
// is any run of characters, dots included ("tenant.*" matches
// "tenant.user.added"), '?' one character, '[...]' one of a class. E-mail
// patterns match case-insensitively. A dropped event counts as delivered.
//
// It is not a content filter: to match on payload fields, map the event first
// or use the sink's own routing.
package filter
