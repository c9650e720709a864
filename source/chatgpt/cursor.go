package chatgpt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// cursorVersion is the version of the checkpoint's format.
const cursorVersion = 1

// cursor is the checkpoint of the source: where each event type is. Its
// JSON is the saved format; a change of it gets a new version.
type cursor struct {
	V     int                    `json:"v"`
	Types map[string]*typeCursor `json:"types"`
}

// typeCursor is where one event type is.
type typeCursor struct {
	// EndTime is the end_time of the last file read whole (or, before
	// any, where the type began: start_at): the next listing asks for the
	// files at or after it.
	EndTime time.Time `json:"end_time"`
	// Done are the ids of the files read whole whose end_time is EndTime:
	// the API lists them again (its `after` is inclusive), and they are
	// skipped.
	Done []string `json:"done,omitempty"`
	// File is the file being read when a window ended inside it.
	File *filePos `json:"file,omitempty"`
	// Recent are the last event_ids delivered of the type, oldest first,
	// at most dedup_ids: a record exported twice is dropped.
	Recent []string `json:"recent,omitempty"`
}

// filePos is a position inside a file.
type filePos struct {
	ID      string    `json:"id"`
	EndTime time.Time `json:"end_time"`
	// Line counts the file's lines handled: delivered, dropped as
	// duplicates, blank, or sent to the dead-letter sink. A restart
	// downloads the file again and goes on after them.
	Line int64 `json:"line"`
	// SHA256 is the file's digest when the listing gave one: a resumed
	// file must be the same file.
	SHA256 string `json:"sha256,omitempty"`
}

// maxCursorAhead is how far past the API's present a checkpoint's time
// may be (clocks differ a little); further, the checkpoint was not written
// by this source against this API.
const maxCursorAhead = 24 * time.Hour

// decodeCursor reads a saved checkpoint. A checkpoint that cannot be read
// or that cannot be true is an error: starting over would deliver a
// month again, and skipping ahead would lose it, so a person decides.
func decodeCursor(raw []byte, now time.Time) (cursor, error) {
	var c cursor
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return cursor{}, fmt.Errorf("the checkpoint is unreadable (%v)", err)
	}
	if dec.More() {
		return cursor{}, errors.New("the checkpoint is unreadable (data after its object)")
	}
	if c.V != cursorVersion {
		return cursor{}, fmt.Errorf("the checkpoint is of version %d, this auditrelay reads version %d", c.V, cursorVersion)
	}
	if c.Types == nil {
		c.Types = map[string]*typeCursor{}
	}
	var errs []error
	for name, tc := range c.Types {
		if err := tc.check(name, now); err != nil {
			errs = append(errs, fmt.Errorf("event type %q: %w", name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return cursor{}, fmt.Errorf("the checkpoint cannot be true: %w", err)
	}
	return c, nil
}

// check reports what makes tc impossible.
func (tc *typeCursor) check(name string, now time.Time) error {
	switch {
	case !typeName.MatchString(name):
		return errors.New("not an event type name")
	case tc == nil:
		return errors.New("null")
	case tc.EndTime.IsZero():
		return errors.New("no end_time")
	case tc.EndTime.After(now.Add(maxCursorAhead)):
		return fmt.Errorf("end_time %s is past the API's present %s", tc.EndTime.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case slices.Contains(tc.Done, ""), slices.Contains(tc.Recent, ""):
		return errors.New("an empty id")
	}
	if f := tc.File; f != nil {
		switch {
		case f.ID == "":
			return errors.New("a file in progress without an id")
		case f.Line < 0:
			return fmt.Errorf("file %s: line %d", f.ID, f.Line)
		case f.EndTime.Before(tc.EndTime):
			return fmt.Errorf("file %s in progress ends at %s, before the files done (%s)", f.ID, f.EndTime.Format(time.RFC3339), tc.EndTime.Format(time.RFC3339))
		case slices.Contains(tc.Done, f.ID):
			return fmt.Errorf("file %s is both done and in progress", f.ID)
		}
	}
	return nil
}

// recent remembers the last event_ids of a type, at most max of them: a
// ring in insertion order and a set. Memory is about 100 bytes an id.
type recent struct {
	max  int
	ring []string
	head int // index of the oldest when the ring is full
	set  map[string]struct{}
}

func newRecent(size int, ids []string) *recent {
	r := &recent{max: size, set: make(map[string]struct{}, min(size, len(ids)))}
	for _, id := range ids[max(0, len(ids)-size):] {
		r.add(id)
	}
	return r
}

// seen reports whether id is remembered.
func (r *recent) seen(id string) bool {
	_, ok := r.set[id]
	return ok
}

// add remembers id, forgetting the oldest when full.
func (r *recent) add(id string) {
	if r.max == 0 || r.seen(id) {
		return
	}
	if len(r.ring) < r.max {
		r.ring = append(r.ring, id)
	} else {
		delete(r.set, r.ring[r.head])
		r.ring[r.head] = id
		r.head = (r.head + 1) % r.max
	}
	r.set[id] = struct{}{}
}

// list returns the ids, oldest first.
func (r *recent) list() []string {
	if len(r.ring) == 0 {
		return nil
	}
	return slices.Concat(r.ring[r.head:], r.ring[:r.head])
}
