package anthropic

import (
	"github.com/go-json-experiment/json/jsontext"

	"github.com/auditrelay/auditrelay/schema/internal/jsonread"
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
	annotated          text // auditrelay.severity, which enrich writes
	relayed            bool // the object holds an auditrelay member
	target             targetFields
	about              aboutFields
	// refs are the top-level members that name something by id or by
	// name (*_id, *_name, filename, title, domain), in the order read:
	// Resource chooses among them.
	refs []ref
}

// ref is a top-level member that names something.
type ref struct {
	member string
	value  text
}

// aboutFields are the top-level members that say more of what an activity
// did (Role, Request, Members, SignIn).
type aboutFields struct {
	currentRole, previousRole, role, invitedRole text
	requestID, requestMethod                     text
	failureReason, authMethod, mfaMethod         text
	memberIDs                                    text
}

// targetFields are the top-level members that name the person an activity
// is about (TargetUser).
type targetFields struct {
	userID, userEmail, deletedID, deletedEmail text
	principalID, principalKind                 text
	targetID, targetKind                       text
	newOwnerID, invitedEmail                   text
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

// The reader's types, named short for the readers below.
type (
	text  = jsonread.Text
	field = jsonread.Field
)

// ErrNotObject is the error of a value that is valid JSON but not an
// object, where an activity must be one.
var ErrNotObject = jsonread.ErrNotObject

// ReadObject checks that raw is one JSON object (white space around it
// allowed) and reads its fields. It does not require any member: Parse
// says what an event needs.
func ReadObject(raw []byte) (Fields, error) { return jsonread.ReadObject(raw, ReadNext) }

// NewDecoder returns a decoder of in for ReadNext, reading what
// encoding/json reads (a name given twice counts with its last value).
func NewDecoder(in []byte) *jsontext.Decoder { return jsonread.NewDecoder(in) }

// ReadNext reads the activity object that comes next in d, whose whole
// input is in (the values Fields keeps are slices of it). A source that
// decodes a page with one decoder reads each element of data with it, so
// a page is checked and indexed in one pass. A value that is not an object
// is skipped and gives empty Fields and ErrNotObject.
func ReadNext(d *jsontext.Decoder, in []byte) (Fields, error) {
	var f Fields
	ok, err := jsonread.Members(d, func(name []byte) (err error) {
		switch string(name) {
		case "actor":
			f.actor, err = readActor(d, in)
		case "auditrelay":
			f.relayed = true
			err = jsonread.Object(d, in, field{"severity", &f.annotated})
		default:
			dst, named := f.member(name), namesSomething(name)
			if dst == nil && !named {
				return d.SkipValue()
			}
			// name lies in the decoder's buffer, which reading the
			// value reuses: copy it first.
			var member string
			if named {
				member = string(name)
			}
			var v text
			if v, err = jsonread.Value(d, in); err != nil {
				return err
			}
			if dst != nil {
				*dst = v
			}
			if named {
				if f.refs == nil {
					f.refs = make([]ref, 0, 8)
				}
				f.refs = append(f.refs, ref{member, v})
			}
		}
		return err
	})
	if err == nil && !ok {
		err = ErrNotObject
	}
	return f, err
}

// member is where the top-level member name goes, nil for one the package
// does not keep by name.
func (f *Fields) member(name []byte) *text {
	t, a := &f.target, &f.about
	switch string(name) {
	case "id":
		return &f.id
	case "type":
		return &f.typ
	case "created_at":
		return &f.createdAt
	case "organization_id":
		return &f.orgID
	case "organization_uuid":
		return &f.orgUUID
	case "status_code":
		return &f.statusCode
	case "user_id":
		return &t.userID
	case "user_email":
		return &t.userEmail
	case "deleted_user_id":
		return &t.deletedID
	case "deleted_user_email":
		return &t.deletedEmail
	case "principal_id":
		return &t.principalID
	case "principal_type":
		return &t.principalKind
	case "target_id":
		return &t.targetID
	case "target_type":
		return &t.targetKind
	case "new_owner_id":
		return &t.newOwnerID
	case "invited_email":
		return &t.invitedEmail
	case "current_role":
		return &a.currentRole
	case "previous_role":
		return &a.previousRole
	case "role":
		return &a.role
	case "invited_role":
		return &a.invitedRole
	case "request_id":
		return &a.requestID
	case "request_method":
		return &a.requestMethod
	case "failure_reason":
		return &a.failureReason
	case "auth_method":
		return &a.authMethod
	case "mfa_method":
		return &a.mfaMethod
	case "member_ids":
		return &a.memberIDs
	}
	return nil
}

func readActor(d *jsontext.Decoder, in []byte) (actorFields, error) {
	var a actorFields
	ok, err := jsonread.Members(d, func(name []byte) error {
		if string(name) == "provider" {
			return jsonread.Object(d, in, field{"type", &a.provider})
		}
		return jsonread.Pick(d, in, name, []field{
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
