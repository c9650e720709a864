package chatgpt

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	schema "github.com/auditrelay/auditrelay/schema/chatgpt"
)

// recordReader turns the lines of a downloaded file into events, the same
// for the source and for Client: each line read once by schema/chatgpt,
// and what people wrote replaced by its digest unless keep_content.
type recordReader struct {
	name        string // each event's Source
	keepContent bool
	deadLetter  bool                     // on_invalid_event: dead_letter
	paths       map[string][]schema.Path // content paths by record and file type
}

func newRecordReader(name string, cfg *Config) recordReader {
	return recordReader{name: name, keepContent: cfg.KeepContent, deadLetter: cfg.OnInvalidEvent == InvalidDeadLetter,
		paths: map[string][]schema.Path{}}
}

// record turns line n of file f into an event. A blank line is an event
// without an ID (nothing to deliver). A line that is not a record is an
// error, or with on_invalid_event: dead_letter an event marked Invalid.
func (rr *recordReader) record(line []byte, f File, n int64, observed time.Time) (pipeline.Event, error) {
	raw := bytes.TrimSpace(line)
	if len(raw) == 0 {
		return pipeline.Event{}, nil
	}
	fields, err := schema.ReadObject(raw)
	var ev pipeline.Event
	if err == nil {
		ev, err = fields.Event(raw, rr.name, observed)
	}
	if err != nil {
		why := fmt.Sprintf("file %s (%s) line %d: %v", f.ID, f.Type, n, err)
		if !rr.deadLetter {
			return pipeline.Event{}, fmt.Errorf("%s; it is not a record auditrelay can deliver (on_invalid_event: dead_letter sends such lines to the dead-letter sink)", why)
		}
		return rr.invalid(raw, fields, why, f, observed), nil
	}
	if rr.keepContent {
		ev.Raw = bytes.Clone(raw)
		return ev, nil
	}
	if ev.Raw, err = withoutContent(raw, rr.contentPaths(ev.Type, f.Type)); err != nil {
		// ReadObject read it whole: this cannot happen, and if it does,
		// nothing of the record may pass.
		return pipeline.Event{}, fmt.Errorf("file %s (%s) line %d: removing its content: %w", f.ID, f.Type, n, err)
	}
	return ev, nil
}

// invalid is the dead letter of a line that is not a record: the object
// (its content removed unless keep_content), or a line that is not JSON
// wrapped (see unparsed). Its ID is its event_id, or one made of its
// bytes, the same at every reading, so that de-duplication takes it once.
func (rr *recordReader) invalid(raw []byte, fields schema.Fields, why string, f File, observed time.Time) pipeline.Event {
	id := fields.ID()
	if id == "" {
		sum := sha256.Sum256(raw)
		id = "invalid-" + hex.EncodeToString(sum[:8])
	}
	var body []byte
	switch {
	case !json.Valid(raw):
		body = unparsed(raw, rr.keepContent)
	case rr.keepContent:
		body = bytes.Clone(raw)
	default:
		var err error
		if body, err = withoutContent(raw, rr.contentPaths(fields.Type(), f.Type)); err != nil {
			body = unparsed(raw, false) // JSON, but not an object
		}
	}
	return pipeline.Event{ID: id, Type: f.Type, Time: f.EndTime, ObservedAt: observed, Source: rr.name,
		Schema: schema.Schema, Raw: body, Invalid: why}
}

// contentPaths caches contentPaths by the pair of types.
func (rr *recordReader) contentPaths(recType, fileType string) []schema.Path {
	key := recType + "\x00" + fileType
	ps, ok := rr.paths[key]
	if !ok {
		ps = contentPaths(recType, fileType)
		rr.paths[key] = ps
	}
	return ps
}
