package chatgpt

import (
	"github.com/go-json-experiment/json/jsontext"

	"github.com/auditrelay/auditrelay/schema/internal/jsonread"
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
	result                                         text // AUDIT_LOG's action_result
	annotated                                      text // auditrelay.severity, which enrich writes
	relayed                                        bool // the object holds an auditrelay member
	actor                                          actorFields
	client                                         clientFields
	// The person an AUDIT_LOG's action is about (TargetUser):
	// action_data.target_user_id and action_data.invitee_email.
	targetUserID, inviteeEmail text
	about                      aboutFields
}

// aboutFields are the members that say what a record is about
// (Resource, Role, Message, Tokens, ClientID).
type aboutFields struct {
	role, previousRole, feature, enabled, logEventType text // AUDIT_LOG's and AUTH_LOG's action_data
	conversationID, messageID, model, clientType       text // CONVERSATION_MESSAGE
	appID, appName, linkID, clientID                   text
	details                                            detailFields
}

// detailFields are event_details' members (CODEX_LOG, CODEX_SECURITY_LOG,
// CUSTOM_AGENTS_LOG).
type detailFields struct {
	tokenID, serverLabel, toolName, findingID, repository  text
	connectorID, connectorName, skillName, memoryID, runID text
	inputTokens, outputTokens                              text
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

// The reader's types, named short for the readers below.
type (
	text  = jsonread.Text
	field = jsonread.Field
)

// ErrNotObject is the error of a value that is valid JSON but not an
// object, where a record must be one.
var ErrNotObject = jsonread.ErrNotObject

// ReadObject checks that raw is one JSON object (white space around it
// allowed) and reads its fields. It does not require any member: Parse
// says what an event needs.
func ReadObject(raw []byte) (Fields, error) { return jsonread.ReadObject(raw, readRecord) }

// readRecord reads the record object that comes next in d, whose input is
// in.
func readRecord(d *jsontext.Decoder, in []byte) (Fields, error) {
	var f Fields
	_, err := jsonread.Members(d, func(name []byte) (err error) {
		switch string(name) {
		case "principal":
			err = jsonread.Object(d, in, field{"id", &f.principal.id}, field{"type", &f.principal.kind})
		case "actor":
			f.actor, err = readActor(d, in)
		case "action_data":
			a := &f.about
			err = jsonread.Object(d, in, field{"action", &f.dataAction},
				field{"target_user_id", &f.targetUserID}, field{"invitee_email", &f.inviteeEmail},
				field{"role", &a.role}, field{"previous_role", &a.previousRole}, field{"feature", &a.feature},
				field{"enabled", &a.enabled}, field{"event_type", &a.logEventType})
		case "message":
			// A message given twice counts whole, with its last value.
			f.author, f.about.messageID, f.about.model, f.about.clientType = nil, nil, nil, nil
			_, err = jsonread.Members(d, func(name []byte) error {
				switch string(name) {
				case "author":
					return jsonread.Object(d, in, field{"type", &f.author}, field{"model", &f.about.model},
						field{"client_type", &f.about.clientType})
				case "id":
					v, err := jsonread.Value(d, in)
					f.about.messageID = v
					return err
				}
				return d.SkipValue()
			})
		case "conversation":
			err = jsonread.Object(d, in, field{"id", &f.about.conversationID})
		case "event_details":
			f.about.details, err = readDetails(d, in)
		case "request_metadata":
			f.client, err = readClient(d, in)
		case "auditrelay":
			f.relayed = true
			err = jsonread.Object(d, in, field{"severity", &f.annotated})
		default:
			err = jsonread.Pick(d, in, name, []field{
				{"event_id", &f.eventID}, {"type", &f.typ}, {"timestamp", &f.timestamp},
				{"action", &f.action}, {"event_type", &f.eventType}, {"log_type", &f.logType},
				{"workspace_id", &f.workspaceID}, {"action_result", &f.result},
				{"app_id", &f.about.appID}, {"app_name", &f.about.appName}, {"link_id", &f.about.linkID},
				{"client_id", &f.about.clientID},
			})
		}
		return err
	})
	return f, err
}

func readActor(d *jsontext.Decoder, in []byte) (actorFields, error) {
	var a actorFields
	ok, err := jsonread.Members(d, func(name []byte) (err error) {
		switch string(name) {
		case "agent_runtime":
			a.runtimeID, a.delegatorKind, a.delegatorID, a.delegatorE = nil, nil, nil, nil
			_, err = jsonread.Members(d, func(name []byte) error {
				switch string(name) {
				case "id":
					v, err := jsonread.Value(d, in)
					a.runtimeID = v
					return err
				case "delegator":
					return jsonread.Object(d, in, field{"type", &a.delegatorKind}, field{"user_id", &a.delegatorID}, field{"user_email", &a.delegatorE})
				}
				return d.SkipValue()
			})
		case "agent_task":
			err = jsonread.Object(d, in, field{"id", &a.taskID})
		default:
			err = jsonread.Pick(d, in, name, []field{
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
	_, err := jsonread.Members(d, func(name []byte) (err error) {
		if string(name) == "client_ip_details" {
			return jsonread.Object(d, in, field{"country", &c.country}, field{"region", &c.region}, field{"region_code", &c.regionCode},
				field{"city", &c.city}, field{"asn", &c.asn}, field{"latitude", &c.latitude}, field{"longitude", &c.longitude})
		}
		return jsonread.Pick(d, in, name, []field{
			{"client_ip", &c.ip}, {"client_user_agent", &c.userAgent}, {"client_ja3", &c.ja3},
			{"client_ja4", &c.ja4}, {"destination_hostname", &c.destination},
		})
	})
	return c, err
}

func readDetails(d *jsontext.Decoder, in []byte) (detailFields, error) {
	var x detailFields
	_, err := jsonread.Members(d, func(name []byte) error {
		switch string(name) {
		case "token_usage":
			return jsonread.Object(d, in, field{"input_tokens", &x.inputTokens}, field{"output_tokens", &x.outputTokens})
		case "memory":
			return jsonread.Object(d, in, field{"id", &x.memoryID})
		case "scan_configuration_fields":
			return jsonread.Object(d, in, field{"repository", &x.repository})
		}
		return jsonread.Pick(d, in, name, []field{
			{"token_id", &x.tokenID}, {"server_label", &x.serverLabel}, {"tool_name", &x.toolName},
			{"finding_id", &x.findingID}, {"connector_id", &x.connectorID}, {"connector_name", &x.connectorName},
			{"skill_name", &x.skillName}, {"run_id", &x.runID},
		})
	})
	return x, err
}
