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
	target             targetFields
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
			err = jsonread.Object(d, in, field{"severity", &f.annotated})
		default:
			err = jsonread.Pick(d, in, name, []field{
				{"id", &f.id}, {"type", &f.typ}, {"created_at", &f.createdAt},
				{"organization_id", &f.orgID}, {"organization_uuid", &f.orgUUID}, {"status_code", &f.statusCode},
				{"user_id", &f.target.userID}, {"user_email", &f.target.userEmail},
				{"deleted_user_id", &f.target.deletedID}, {"deleted_user_email", &f.target.deletedEmail},
				{"principal_id", &f.target.principalID}, {"principal_type", &f.target.principalKind},
				{"target_id", &f.target.targetID}, {"target_type", &f.target.targetKind},
				{"new_owner_id", &f.target.newOwnerID}, {"invited_email", &f.target.invitedEmail},
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
