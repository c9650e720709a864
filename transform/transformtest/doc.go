// Package transformtest holds what the transform packages' tests share: the
// corpus of sample events (one of every audit-log event type OpenAI
// documents, tenant.* and unknown types, both actor variants, and request
// logs), a parser that fills the index fields of pipeline.Event the way a
// source does, and golden-file comparison.
//
// It is for tests only; nothing in the binary imports it.
package transformtest
