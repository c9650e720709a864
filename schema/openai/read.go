package openai

import (
	"bytes"
	"errors"
	"io"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/auditrelay/auditrelay/schema/internal/jsonread"
)

// Fields are the members of one event the package reads, found in one pass
// over the event's bytes, which it checks on the way; its methods answer
// from them. A key given twice counts with its last value, as encoding/json
// reads it into a map (and as every component that decodes the event sees
// it).
type Fields struct {
	id, typ, event, effectiveAt, createdAt, projectID, success text
	project                                                    struct{ id, name text }
	target                                                     struct{ kind, id, name text }
	payload                                                    payloadFields
	request                                                    requestFields
	actor                                                      actorFields
	annotated                                                  text // auditrelay.severity, which enrich writes
	relayed                                                    bool // the object holds an auditrelay member
}

// payloadFields are the members of an audit log's payload (the member
// named like its type) the package reads.
type payloadFields struct {
	id, errorCode, errorMessage text
	// A role assignment's principal (TargetUser).
	principalID, principalKind text
	// What the payload names (Payload): its name, a role's role_name,
	// a tenant's tenant_id, the resource a role applies to, data's
	// members, and the first of a list of certificates or allow-list
	// configurations.
	name, roleName, tenantID, resourceID, resourceKind text
	dataName, dataGroupName, dataEmail, dataRole       text
	firstID, firstName                                 text
}

// requestFields are a request log's api_request members (APIRequest).
type requestFields struct {
	id, model, errorCode, errorMessage text
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

// The reader's types, named short for the readers below.
type (
	text  = jsonread.Text
	field = jsonread.Field
)

// ErrNotObject is the error of a value that is valid JSON but not an
// object, where an event must be one.
var ErrNotObject = jsonread.ErrNotObject

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
			return Fields{}, jsonread.ErrInvalid
		}
		return Fields{}, ErrNotObject
	}
	f, err := readEvent(d, raw, typ)
	if err != nil {
		return f, jsonread.ErrInvalid
	}
	if _, err := d.ReadToken(); err != io.EOF {
		return f, errors.New("not valid JSON: more after the object")
	}
	return f, nil
}

// NewDecoder returns a decoder of in for ReadNext.
func NewDecoder(in []byte) *jsontext.Decoder { return jsonread.NewDecoder(in) }

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
	_, err := jsonread.Members(d, func(name []byte) (err error) {
		switch string(name) {
		case "id":
			f.id, err = jsonread.Value(d, in)
		case "type":
			f.typ, err = jsonread.Value(d, in)
		case "event":
			f.event, err = jsonread.Value(d, in)
		case "effective_at":
			f.effectiveAt, err = jsonread.Value(d, in)
		case "created_at":
			f.createdAt, err = jsonread.Value(d, in)
		case "project_id":
			f.projectID, err = jsonread.Value(d, in)
		case "success":
			f.success, err = jsonread.Value(d, in)
		case "project":
			err = jsonread.Object(d, in, field{"id", &f.project.id}, field{"name", &f.project.name})
		case "target":
			err = jsonread.Object(d, in, field{"type", &f.target.kind}, field{"id", &f.target.id}, field{"name", &f.target.name})
		case "api_request":
			f.request, err = readRequest(d, in)
		case "actor":
			f.actor, err = readActor(d, in)
		case "auditrelay":
			f.relayed = true
			err = jsonread.Object(d, in, field{"severity", &f.annotated})
		default:
			if typ == "" || string(name) != typ {
				return d.SkipValue()
			}
			f.payload, err = readPayload(d, in)
		}
		return err
	})
	return f, err
}

// readPayload reads an audit log's payload; a payload given twice counts
// whole, with its last value.
func readPayload(d *jsontext.Decoder, in []byte) (payloadFields, error) {
	var p payloadFields
	_, err := jsonread.Members(d, func(name []byte) error {
		switch string(name) {
		case "data":
			return jsonread.Object(d, in, field{"name", &p.dataName}, field{"group_name", &p.dataGroupName},
				field{"email", &p.dataEmail}, field{"role", &p.dataRole})
		case "certificates", "configs":
			return readFirst(d, in, field{"id", &p.firstID}, field{"name", &p.firstName})
		}
		return jsonread.Pick(d, in, name, []field{
			{"id", &p.id}, {"error_code", &p.errorCode}, {"error_message", &p.errorMessage},
			{"principal_id", &p.principalID}, {"principal_type", &p.principalKind},
			{"name", &p.name}, {"role_name", &p.roleName}, {"tenant_id", &p.tenantID},
			{"resource_id", &p.resourceID}, {"resource_type", &p.resourceKind},
		})
	})
	return p, err
}

// readFirst reads the array that comes next in d into fields from its
// first element, when that is an object; fields are set anew. A value
// that is not an array is skipped.
func readFirst(d *jsontext.Decoder, in []byte, fields ...field) error {
	for _, f := range fields {
		*f.Dst = nil
	}
	if d.PeekKind() != '[' {
		return d.SkipValue()
	}
	if _, err := d.ReadToken(); err != nil {
		return err
	}
	for first := true; d.PeekKind() != ']'; first = false {
		var err error
		if first {
			_, err = jsonread.Members(d, func(name []byte) error { return jsonread.Pick(d, in, name, fields) })
		} else {
			err = d.SkipValue()
		}
		if err != nil {
			return err
		}
	}
	_, err := d.ReadToken()
	return err
}

func readRequest(d *jsontext.Decoder, in []byte) (requestFields, error) {
	var r requestFields
	_, err := jsonread.Members(d, func(name []byte) error {
		if string(name) == "error" {
			return jsonread.Object(d, in, field{"code", &r.errorCode}, field{"message", &r.errorMessage})
		}
		return jsonread.Pick(d, in, name, []field{{"id", &r.id}, {"model", &r.model}})
	})
	return r, err
}

func readActor(d *jsontext.Decoder, in []byte) (actorFields, error) {
	var a actorFields
	ok, err := jsonread.Members(d, func(name []byte) (err error) {
		switch string(name) {
		case "type":
			a.kind, err = jsonread.Value(d, in)
		case "id":
			a.id, err = jsonread.Value(d, in)
		case "name":
			a.name, err = jsonread.Value(d, in)
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
	_, err := jsonread.Members(d, func(name []byte) (err error) {
		switch string(name) {
		case "user":
			s.user, err = readUser(d, in)
		case "ip_address_details":
			err = jsonread.Object(d, in, field{"country", &s.country}, field{"region_code", &s.regionCode}, field{"region", &s.region},
				field{"city", &s.city}, field{"latitude", &s.latitude}, field{"longitude", &s.longitude}, field{"asn", &s.asn})
		default:
			err = jsonread.Pick(d, in, name, []field{{"ip_address", &s.ip}, {"user_agent", &s.userAgent}, {"ja3", &s.ja3}, {"ja4", &s.ja4}})
		}
		return err
	})
	return s, err
}

func readKey(d *jsontext.Decoder, in []byte) (keyFields, error) {
	var k keyFields
	_, err := jsonread.Members(d, func(name []byte) (err error) {
		switch string(name) {
		case "user":
			k.user, err = readUser(d, in)
		case "service_account":
			err = jsonread.Object(d, in, field{"id", &k.account})
		default:
			err = jsonread.Pick(d, in, name, []field{{"id", &k.id}, {"type", &k.kind}})
		}
		return err
	})
	return k, err
}

func readUser(d *jsontext.Decoder, in []byte) (userFields, error) {
	var u userFields
	err := jsonread.Object(d, in, field{"id", &u.id}, field{"email", &u.email})
	return u, err
}
