// Package dedup provides the "dedup" transform: it drops an event whose id
// was already delivered by another source, for users who run overlapping
// sources (two admin keys of one organization, a replay next to a live
// source). Memory is bounded by max_entries and ttl.
//
// Ownership, not first-seen: an id belongs to the first source that passed
// it. A later copy from another source is dropped; a copy from the owning
// source passes again. A transform cannot see acknowledgements, so a window
// the owner re-delivers after a sink failure must not be dropped, or the
// retried events would be lost. The OpenAI sources already remove their own
// overlap duplicates with their cursor's seen-set, so on the happy path the
// owner never sends an id twice.
//
// It is not a content deduplicator (two events with different ids are
// always distinct).
package dedup
