package anthropic

import (
	"bytes"
	"errors"
	"io"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// Fields are the members of one activity the package reads, found in one
// pass over the activity's bytes, which it checks on the way; its methods
// answer from them. Members may come in any order: the actor's members are
// all kept, and its kind decides which count.
type Fields struct {
	id, typ, createdAt text
	orgID, orgUUID     text
	statusCode         text // compliance_api_accessed's status_code
	actor              actorFields
}

type actorFields struct {
	object                              bool
	kind, email, userID, ip, userAgent  text
	apiKeyID, adminKeyID, unauthEmail   text
	serviceAccountID, service           text
	workosEventID, directoryID, idpType text
	issuer, subject, provider           text // provider: federated_actor's provider.type
	externalClientID, kidHash           text
}

// text is one JSON value as the activity writes it, a slice of its bytes:
// a quoted string, a number, true, false, null, or a whole object or array
// where the package does not look inside; nil when the member is absent.
type text []byte

// str is a JSON string's value, "" for anything else (null included).
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
// object, where an activity must be one.
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
	f, err := ReadNext(d, raw)
	if err != nil {
		return Fields{}, errInvalid
	}
	if _, err := d.ReadToken(); err != io.EOF {
		return Fields{}, errors.New("not valid JSON: more after the object")
	}
	return f, nil
}

// ReadNext reads the activity object that comes next in d, whose whole
// input is in (the values Fields keeps are slices of it). A source that
// decodes a page with one decoder reads each element of data with it, so
// a page is checked and indexed in one pass. A value that is not an object
// is skipped and gives empty Fields and ErrNotObject.
func ReadNext(d *jsontext.Decoder, in []byte) (Fields, error) {
	var f Fields
	ok, err := members(d, func(name []byte) (err error) {
		switch string(name) {
		case "actor":
			f.actor, err = readActor(d, in)
		default:
			err = pick(d, in, name, []field{
				{"id", &f.id}, {"type", &f.typ}, {"created_at", &f.createdAt},
				{"organization_id", &f.orgID}, {"organization_uuid", &f.orgUUID}, {"status_code", &f.statusCode},
			})
		}
		return err
	})
	if err == nil && !ok {
		err = ErrNotObject
	}
	return f, err
}

func readActor(d *jsontext.Decoder, in []byte) (actorFields, error) {
	var a actorFields
	ok, err := members(d, func(name []byte) error {
		if string(name) == "provider" {
			return object(d, in, field{"type", &a.provider})
		}
		return pick(d, in, name, []field{
			{"type", &a.kind}, {"email_address", &a.email}, {"user_id", &a.userID}, {"ip_address", &a.ip},
			{"user_agent", &a.userAgent}, {"api_key_id", &a.apiKeyID}, {"admin_api_key_id", &a.adminKeyID},
			{"unauthenticated_email_address", &a.unauthEmail}, {"service_account_id", &a.serviceAccountID},
			{"service", &a.service}, {"workos_event_id", &a.workosEventID}, {"directory_id", &a.directoryID},
			{"idp_connection_type", &a.idpType}, {"issuer", &a.issuer}, {"subject", &a.subject},
			{"external_client_id", &a.externalClientID}, {"kid_hash", &a.kidHash},
		})
	})
	a.object = ok
	return a, err
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
