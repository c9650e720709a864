package anthropic

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
