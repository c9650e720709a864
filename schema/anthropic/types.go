package anthropic

import "github.com/auditrelay/auditrelay/schema/internal/jsonread"

// Schema names the shape of an activity in pipeline.Event.
const Schema = "anthropic.compliance_activity"

// The kinds of actor an activity names (actor.type). The API adds kinds:
// any other passes through with only Actor.Kind set.
const (
	ActorUser              = "user_actor"
	ActorAPI               = "api_actor"
	ActorAdminAPIKey       = "admin_api_key_actor"
	ActorUnauthenticated   = "unauthenticated_user_actor"
	ActorAnthropic         = "anthropic_actor"
	ActorSCIMDirectorySync = "scim_directory_sync_actor"
	ActorSystem            = "system_actor"
	ActorServiceAccount    = "service_account_actor"
	ActorFederatedIdentity = "federated_identity_actor"
	ActorFederated         = "federated_actor"
	ActorAttestedDevice    = "attested_device_actor"
)

// ActorKinds lists the actor kinds the API documents, in the order of its
// notes. Do not modify it.
var ActorKinds = []string{
	ActorUser, ActorAPI, ActorAdminAPIKey, ActorUnauthenticated, ActorAnthropic, ActorSCIMDirectorySync,
	ActorSystem, ActorServiceAccount, ActorFederatedIdentity, ActorFederated, ActorAttestedDevice,
}

// TypeComplianceAPIAccessed is the activity of a call to the Compliance
// API itself: its url and request_body are what the caller sent.
const TypeComplianceAPIAccessed = "compliance_api_accessed"

// Path is where a value lies in an activity: the member names from the
// top object down. The value may be a string, or an object or array whose
// every string counts.
type Path []string

// secretPaths are the members that hold what a caller sent, by type: a
// key in a query string, a token or a webhook URL in a body. Nothing else
// in an activity is free text a caller wrote.
var secretPaths = map[string][]Path{
	TypeComplianceAPIAccessed: {{"url"}, {"request_body"}},
}

// SecretPaths returns the paths of the members of an activity of
// activityType that may hold secrets a caller sent, the values a redaction
// step must treat as free text that may carry anything (API keys, tokens,
// webhook URLs). Types without such members (and unknown types) give nil.
// The result is a copy the caller may keep.
func SecretPaths(activityType string) []Path { return jsonread.ClonePaths(secretPaths[activityType]) }
