package chatgpt

import (
	"bytes"
	"errors"
	"io"

	"github.com/go-json-experiment/json/jsontext"
)

// Fields are the members of one record the package reads, found in one
// pass over the record's bytes, which it checks on the way; its methods
// answer from them. Members may come in any order, so the candidates for
// the sub-type are all kept and Type decides between them.
type Fields struct {
	eventID, typ, timestamp text
	// Sub-type candidates: the record's action, event_type, log_type,
	// action_data.action and message.author.type.
	action, eventType, logType, dataAction, author text
	principal                                      struct{ id, kind text }
	workspaceID                                    text // CODEX_LOG's workspace_id
	actor                                          actorFields
	client                                         clientFields
}

type actorFields struct {
	object                                 bool
	kind, userID, userEmail, redactedID    text
	id, name, productType, productID       text
	runtimeID, taskID                      text
	delegatorKind, delegatorID, delegatorE text
}

// clientFields are request_metadata's members.
type clientFields struct {
	ip, userAgent, ja3, ja4, destination text
	country, region, regionCode, city    text
	asn, latitude, longitude             text
}

// text is one JSON value as the record writes it, a slice of its bytes: a
// quoted string, a number, true, false, null, or a whole object or array
// where the package does not look inside; nil when the member is absent.
type text []byte

// str is a JSON string's value, "" for anything else.
func (t text) str() string {
	if len(t) < 2 || t[0] != '"' {
		return ""
	}
	if bytes.IndexByte(t, '\\') < 0 {
		return string(t[1 : len(t)-1])
	}
	s, _ := jsontext.AppendUnquote(nil, t) // what can be read of a string with invalid UTF-8
	return string(s)
}

// ErrNotObject is the error of a value that is valid JSON but not an
// object, where a record must be one.
var ErrNotObject = errors.New("not a JSON object")

// errInvalid is the error of bytes that are not one JSON value.
var errInvalid = errors.New("not valid JSON")

// decoderOptions read what encoding/json reads: repeated names (the last
// counts) and strings that are not valid UTF-8.
var decoderOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// ReadObject checks that raw is one JSON object (white space around it
// allowed) and reads its fields. It does not require any member: Parse
// says what an event needs.
func ReadObject(raw []byte) (Fields, error) {
	d := jsontext.NewDecoder(bytes.NewReader(raw), decoderOptions...)
	if d.PeekKind() != '{' {
		if _, err := d.ReadValue(); err != nil {
			return Fields{}, errInvalid
		}
		if _, err := d.ReadToken(); err != io.EOF {
			return Fields{}, errInvalid
		}
		return Fields{}, ErrNotObject
	}
	f, err := readRecord(d, raw)
	if err != nil {
		return Fields{}, errInvalid
	}
	if _, err := d.ReadToken(); err != io.EOF {
		return Fields{}, errors.New("not valid JSON: more after the object")
	}
	return f, nil
}

// readRecord reads the record object that comes next in d, whose input is
// in.
func readRecord(d *jsontext.Decoder, in []byte) (Fields, error) {
	var f Fields
	_, err := members(d, func(name []byte) (err error) {
		switch string(name) {
		case "principal":
			err = object(d, in, field{"id", &f.principal.id}, field{"type", &f.principal.kind})
		case "actor":
			f.actor, err = readActor(d, in)
		case "action_data":
			err = object(d, in, field{"action", &f.dataAction})
		case "message":
			f.author = nil // a message given twice counts whole, with its last value
			_, err = members(d, func(name []byte) error {
				if string(name) != "author" {
					return d.SkipValue()
				}
				return object(d, in, field{"type", &f.author})
			})
		case "request_metadata":
			f.client, err = readClient(d, in)
		default:
			err = pick(d, in, name, []field{
				{"event_id", &f.eventID}, {"type", &f.typ}, {"timestamp", &f.timestamp},
				{"action", &f.action}, {"event_type", &f.eventType}, {"log_type", &f.logType},
				{"workspace_id", &f.workspaceID},
			})
		}
		return err
	})
	return f, err
}

func readActor(d *jsontext.Decoder, in []byte) (actorFields, error) {
	var a actorFields
	ok, err := members(d, func(name []byte) (err error) {
		switch string(name) {
		case "agent_runtime":
			a.runtimeID, a.delegatorKind, a.delegatorID, a.delegatorE = nil, nil, nil, nil
			_, err = members(d, func(name []byte) error {
				switch string(name) {
				case "id":
					v, err := value(d, in)
					a.runtimeID = v
					return err
				case "delegator":
					return object(d, in, field{"type", &a.delegatorKind}, field{"user_id", &a.delegatorID}, field{"user_email", &a.delegatorE})
				}
				return d.SkipValue()
			})
		case "agent_task":
			err = object(d, in, field{"id", &a.taskID})
		default:
			err = pick(d, in, name, []field{
				{"type", &a.kind}, {"user_id", &a.userID}, {"user_email", &a.userEmail}, {"redacted_id", &a.redactedID},
				{"id", &a.id}, {"name", &a.name}, {"product_type", &a.productType}, {"product_id", &a.productID},
			})
		}
		return err
	})
	a.object = ok
	return a, err
}

func readClient(d *jsontext.Decoder, in []byte) (clientFields, error) {
	var c clientFields
	_, err := members(d, func(name []byte) (err error) {
		if string(name) == "client_ip_details" {
			return object(d, in, field{"country", &c.country}, field{"region", &c.region}, field{"region_code", &c.regionCode},
				field{"city", &c.city}, field{"asn", &c.asn}, field{"latitude", &c.latitude}, field{"longitude", &c.longitude})
		}
		return pick(d, in, name, []field{
			{"client_ip", &c.ip}, {"client_user_agent", &c.userAgent}, {"client_ja3", &c.ja3},
			{"client_ja4", &c.ja4}, {"destination_hostname", &c.destination},
		})
	})
	return c, err
}

// field is a member to keep: its name and where its value goes.
type field struct {
	name string
	dst  *text
}

// object reads the object that comes next in d into fields, each set anew:
// an object given twice counts with its last value, whole.
func object(d *jsontext.Decoder, in []byte, fields ...field) error {
	for _, f := range fields {
		*f.dst = nil
	}
	_, err := members(d, func(name []byte) error { return pick(d, in, name, fields) })
	return err
}

// pick reads the value of the member name into the field of that name, or
// skips it.
func pick(d *jsontext.Decoder, in []byte, name []byte, fields []field) (err error) {
	for _, f := range fields {
		if string(name) == f.name {
			*f.dst, err = value(d, in)
			return err
		}
	}
	return d.SkipValue()
}

// members reads the object that comes next in d, handing each member's
// name (unquoted) to fn, which reads or skips its value. A value that is
// not an object is skipped: ok is false.
func members(d *jsontext.Decoder, fn func(name []byte) error) (ok bool, err error) {
	if d.PeekKind() != '{' {
		return false, d.SkipValue()
	}
	if _, err := d.ReadToken(); err != nil {
		return false, err
	}
	for d.PeekKind() == '"' {
		q, err := d.ReadValue()
		if err != nil {
			return false, err
		}
		name := q[1 : len(q)-1]
		if bytes.IndexByte(name, '\\') >= 0 {
			name, _ = jsontext.AppendUnquote(nil, q)
		}
		if err := fn(name); err != nil {
			return false, err
		}
	}
	_, err = d.ReadToken() // '}', or the error of what stands there instead
	return err == nil, err
}

// value reads the value that comes next in d as a slice of in.
func value(d *jsontext.Decoder, in []byte) (text, error) {
	v, err := d.ReadValue()
	if err != nil {
		return nil, err
	}
	end := int(d.InputOffset())
	return text(in[end-len(v) : end : end]), nil
}
