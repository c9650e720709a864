package openai

import (
	"bytes"
	"errors"
	"io"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// Fields are the members of one event the package reads, found in one pass
// over the event's bytes, which it checks on the way; its methods answer
// from them. A key given twice counts with its last value, as encoding/json
// reads it into a map (and as every component that decodes the event sees
// it).
type Fields struct {
	id, typ, event, effectiveAt, createdAt, projectID, success text
	project                                                    struct{ id, name text }
	target                                                     struct{ kind, id text }
	payload                                                    struct{ id, errorCode, errorMessage text }
	actor                                                      actorFields
	annotated                                                  text // auditrelay.severity, which enrich writes
}

// actorFields is the actor object; its kind says which of session and key
// the Actor is.
type actorFields struct {
	object         bool
	kind, id, name text
	session        sessionFields
	key            keyFields
}

type sessionFields struct {
	user                     userFields
	ip, userAgent, ja3, ja4  text
	country, regionCode      text
	region, city             text
	latitude, longitude, asn text
}

type keyFields struct {
	id, kind text
	user     userFields
	account  text // service_account.id
}

type userFields struct{ id, email text }

// text is one JSON value as the event writes it, a slice of its bytes: a
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

// num is a JSON number's value; ok is false for anything else.
func (t text) num() (float64, bool) {
	if len(t) == 0 || (t[0] != '-' && (t[0] < '0' || t[0] > '9')) {
		return 0, false
	}
	n, err := strconv.ParseFloat(string(t), 64)
	return n, err == nil
}

// ErrNotObject is the error of a value that is valid JSON but not an
// object, where an event must be one.
var ErrNotObject = errors.New("not a JSON object")

// decoderOptions read what encoding/json reads: repeated names (the last
// counts) and strings that are not valid UTF-8.
var decoderOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// Read finds the fields of the event raw of type typ (the payload of an
// audit log is the member named like its type; "" skips it). It reads as
// far as raw is valid JSON: use ReadObject for bytes no decoder checked.
func Read(raw []byte, typ string) Fields {
	f, _ := ReadObject(raw, typ)
	return f
}

// ReadObject checks that raw is one JSON object and reads its fields as
// Read does, in the same pass.
func ReadObject(raw []byte, typ string) (Fields, error) {
	d := NewDecoder(raw)
	if d.PeekKind() != '{' {
		if _, err := d.ReadValue(); err != nil {
			return Fields{}, errors.New("not valid JSON")
		}
		return Fields{}, ErrNotObject
	}
	f, err := readEvent(d, raw, typ)
	if err != nil {
		return f, errors.New("not valid JSON")
	}
	if _, err := d.ReadToken(); err != io.EOF {
		return f, errors.New("not valid JSON: more after the object")
	}
	return f, nil
}

// NewDecoder returns a decoder of in for ReadNext.
func NewDecoder(in []byte) *jsontext.Decoder {
	return jsontext.NewDecoder(bytes.NewBuffer(in), decoderOptions...)
}

// ReadNext reads the value that comes next in d (from NewDecoder(in)),
// which must be an object, and returns its fields and its bytes, a slice of
// in: a page of events is read and checked in one pass.
func ReadNext(d *jsontext.Decoder, in []byte, typ string) (Fields, []byte, error) {
	if k := d.PeekKind(); k != '{' {
		if _, err := d.ReadValue(); err != nil {
			return Fields{}, nil, err
		}
		return Fields{}, nil, ErrNotObject
	}
	// What lies between the last value read and the object: white space
	// and perhaps the comma before it.
	start := int(d.InputOffset())
	start += bytes.IndexByte(in[start:], '{')
	f, err := readEvent(d, in, typ)
	if err != nil {
		return Fields{}, nil, err
	}
	return f, in[start:d.InputOffset()], nil
}

// readEvent reads the event object that comes next in d, whose input is in.
func readEvent(d *jsontext.Decoder, in []byte, typ string) (Fields, error) {
	var f Fields
	_, err := members(d, func(name []byte) (err error) {
		switch string(name) {
		case "id":
			f.id, err = value(d, in)
		case "type":
			f.typ, err = value(d, in)
		case "event":
			f.event, err = value(d, in)
		case "effective_at":
			f.effectiveAt, err = value(d, in)
		case "created_at":
			f.createdAt, err = value(d, in)
		case "project_id":
			f.projectID, err = value(d, in)
		case "success":
			f.success, err = value(d, in)
		case "project":
			err = object(d, in, field{"id", &f.project.id}, field{"name", &f.project.name})
		case "target":
			err = object(d, in, field{"type", &f.target.kind}, field{"id", &f.target.id})
		case "actor":
			f.actor, err = readActor(d, in)
		case "auditrelay":
			err = object(d, in, field{"severity", &f.annotated})
		default:
			if typ == "" || string(name) != typ {
				return d.SkipValue()
			}
			p := &f.payload
			err = object(d, in, field{"id", &p.id}, field{"error_code", &p.errorCode}, field{"error_message", &p.errorMessage})
		}
		return err
	})
	return f, err
}

func readActor(d *jsontext.Decoder, in []byte) (actorFields, error) {
	var a actorFields
	ok, err := members(d, func(name []byte) (err error) {
		switch string(name) {
		case "type":
			a.kind, err = value(d, in)
		case "id":
			a.id, err = value(d, in)
		case "name":
			a.name, err = value(d, in)
		case "session":
			a.session, err = readSession(d, in)
		case "api_key":
			a.key, err = readKey(d, in)
		default:
			err = d.SkipValue()
		}
		return err
	})
	a.object = ok
	return a, err
}

func readSession(d *jsontext.Decoder, in []byte) (sessionFields, error) {
	var s sessionFields
	_, err := members(d, func(name []byte) (err error) {
		switch string(name) {
		case "user":
			s.user, err = readUser(d, in)
		case "ip_address_details":
			err = object(d, in, field{"country", &s.country}, field{"region_code", &s.regionCode}, field{"region", &s.region},
				field{"city", &s.city}, field{"latitude", &s.latitude}, field{"longitude", &s.longitude}, field{"asn", &s.asn})
		default:
			err = pick(d, in, name, []field{{"ip_address", &s.ip}, {"user_agent", &s.userAgent}, {"ja3", &s.ja3}, {"ja4", &s.ja4}})
		}
		return err
	})
	return s, err
}

func readKey(d *jsontext.Decoder, in []byte) (keyFields, error) {
	var k keyFields
	_, err := members(d, func(name []byte) (err error) {
		switch string(name) {
		case "user":
			k.user, err = readUser(d, in)
		case "service_account":
			err = object(d, in, field{"id", &k.account})
		default:
			err = pick(d, in, name, []field{{"id", &k.id}, {"type", &k.kind}})
		}
		return err
	})
	return k, err
}

func readUser(d *jsontext.Decoder, in []byte) (userFields, error) {
	var u userFields
	err := object(d, in, field{"id", &u.id}, field{"email", &u.email})
	return u, err
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
