// Package anthropic is what an activity of Anthropic's Compliance API
// activity feed is, read once for every component: the routing fields a
// source puts on a pipeline.Event (id, type, created_at, the actor, the
// organization), the actor of every kind the API names, what an activity
// is about (Resource, TargetUser, Role, Request, Members), and the
// severity of an activity type (the one table for this vendor).
//
// An activity is one JSON object of a page's data. Its own members sit at
// the top level beside "type" (not under a member named after the type, as
// OpenAI's do). ReadObject checks it and finds its fields in one pass of a
// jsontext decoder; keys match exactly, as the API writes them, and a key
// given twice counts with its last value, as encoding/json reads it into a
// map (FuzzReadObject holds the reader to it). Unknown types, unknown
// actor kinds and unknown members pass through: their fields are empty,
// never an error.
//
// It is not a client of the API (source/anthropic is) and it does no I/O;
// it imports only pipeline, jsontext and schema/internal/jsonread, the
// reader the vendor packages share.
package anthropic
