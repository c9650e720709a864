package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"time"
)

// Event is one log record travelling through the pipeline.
//
// Raw holds the event object exactly as the provider sent it, byte for byte,
// until a transform changes it. Sinks write Raw; they never re-encode an event
// they did not change. The other fields are a parsed index over Raw that
// sources fill so that transforms and sinks can route without decoding Raw.
type Event struct {
	// ID is the provider's unique id of the event (audit_log-..., log_...).
	ID string
	// Type is the event type (login.failed, chat.completions.create, ...).
	Type string
	// Time is when the event took effect (effective_at, created_at).
	Time time.Time
	// ObservedAt is when auditrelay fetched the event.
	ObservedAt time.Time
	// Source is the name of the source (one organization) that produced it.
	Source string
	// ActorID, ActorEmail and ProjectID are copied from the event when present.
	ActorID    string
	ActorEmail string
	ProjectID  string
	// Schema names the shape of Raw: "openai.audit_log" as fetched, or the
	// name of the schema a transform mapped it to (ocsf, ecs).
	Schema string
	// Raw is the JSON object of the event.
	Raw []byte
	// Invalid, when set, says why the source could not index the event (no
	// valid time, outside the window it was asked for): the engine hands
	// it to the dead-letter sink with this reason instead of to the
	// transforms and sinks. Only a source told to (on_invalid_event:
	// dead_letter) sets it; others stop at such an event.
	Invalid string

	obj   map[string]any
	dirty bool
}

// Vendor is the vendor whose shape Raw has: the part of Schema before its
// first dot (openai, chatgpt, anthropic), so that every sink names the
// vendor of every source's events alike. It is "" for a schema without a
// dot (ocsf, ecs: a shape no vendor owns, which a transform mapped the
// event to).
func (e *Event) Vendor() string {
	v, _, ok := strings.Cut(e.Schema, ".")
	if !ok {
		return ""
	}
	return v
}

// Object decodes Raw once and returns the decoded object; later calls return
// the same map. Numbers decode as json.Number so that re-encoding does not
// change them. A transform that changes the map must call SetObject so that
// Finalize re-encodes it. Object is not safe for concurrent use.
func (e *Event) Object() (map[string]any, error) {
	if e.obj != nil {
		return e.obj, nil
	}
	dec := json.NewDecoder(bytes.NewReader(e.Raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	// More() says nothing of a stray '}' or ']': only white space may
	// follow the object.
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the event's object")
	}
	if m == nil {
		return nil, errors.New("not a JSON object") // null
	}
	e.obj = m
	return m, nil
}

// SetObject replaces the event's content with m; Raw is re-encoded by Finalize.
func (e *Event) SetObject(m map[string]any) {
	e.obj = m
	e.dirty = true
}

// SetRaw replaces the event's content with already encoded JSON and drops any
// decoded object.
func (e *Event) SetRaw(raw []byte) {
	e.Raw = raw
	e.obj = nil
	e.dirty = false
}

// RawCurrent reports whether Raw holds the event's current content: false
// after SetObject until Finalize or SetRaw. A transform that edits Raw
// directly (cheaper than a decode and an encode when it changes a few
// values) may do so only while RawCurrent is true, and hands the result to
// SetRaw; otherwise it works on Object. Not safe for concurrent use.
func (e *Event) RawCurrent() bool { return !e.dirty }

// Finalize encodes a changed object back into Raw (keys sorted, HTML left
// alone). The engine calls it once per event after the last transform, so
// that sinks (which may run concurrently) only ever read Raw.
func (e *Event) Finalize() error {
	if !e.dirty {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e.obj); err != nil {
		return err
	}
	e.Raw = bytes.TrimRight(buf.Bytes(), "\n")
	e.dirty = false
	return nil
}

// Batch is a group of events the engine hands to the transforms and sinks:
// a window is cut into batches of the source's batch size.
type Batch struct {
	// Source is the name of the source that produced the batch.
	Source string
	// Events are ordered oldest first.
	Events []Event
}

// Bytes returns the total size of the events' Raw payloads.
func (b *Batch) Bytes() int {
	n := 0
	for i := range b.Events {
		n += len(b.Events[i].Raw)
	}
	return n
}
