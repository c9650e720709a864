package anthropic

import (
	"errors"
	"fmt"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Parse builds a pipeline event from one activity: ID from id, Type from
// type, Time from created_at, the actor (Actor.ID and its e-mail) and, as
// ProjectID, the organization the activity belongs to (organization_id:
// the nearest thing this vendor has to a project, the scope of the
// activity; "" for sign-ins, sign-outs and Compliance API calls, which
// have none). It requires a JSON object with a string id and an RFC 3339
// created_at and accepts anything else: an activity without type, of an
// unknown type or with an unknown actor kind passes with those fields
// empty. Raw is raw, untouched.
func Parse(raw []byte, source string, observed time.Time) (pipeline.Event, error) {
	f, err := ReadObject(raw)
	if err != nil {
		return pipeline.Event{}, fmt.Errorf("compliance activity: %w", err)
	}
	return f.Event(raw, source, observed)
}

// Event builds the pipeline event of the activity raw, whose fields f are
// (as ReadObject or ReadNext found them). Parse says what it requires.
func (f *Fields) Event(raw []byte, source string, observed time.Time) (pipeline.Event, error) {
	id := f.ID()
	if id == "" {
		return pipeline.Event{}, errors.New("compliance activity: no id")
	}
	t, err := f.Time()
	if err != nil {
		return pipeline.Event{}, fmt.Errorf("compliance activity %s: %w", id, err)
	}
	a := f.Actor()
	return pipeline.Event{
		ID: id, Type: f.Type(), Time: t, ObservedAt: observed, Source: source, Schema: Schema, Raw: raw,
		ActorID: a.ID(), ActorEmail: a.Email, ProjectID: f.OrganizationID(),
	}, nil
}

// ID is the activity's id, the key that tells duplicates apart (delivery
// is at least once); "" when it is absent or not a string.
func (f *Fields) ID() string { return f.id.Str() }

// Type is the activity's type (claude_chat_created, sso_login_succeeded,
// ...); "" when absent.
func (f *Fields) Type() string { return f.typ.Str() }

// Time is created_at, RFC 3339 (the API writes whole seconds and Z). An
// absent or unreadable created_at is an error that says which.
func (f *Fields) Time() (time.Time, error) { return f.createdAt.Time("created_at") }

// OrganizationID is organization_id, the child organization the activity
// belongs to; "" when it is null (sign-ins, sign-outs, Compliance API
// calls) or absent.
func (f *Fields) OrganizationID() string { return f.orgID.Str() }

// OrganizationUUID is organization_uuid, the same organization's UUID.
func (f *Fields) OrganizationUUID() string { return f.orgUUID.Str() }

// Failed reports whether the activity records a request that failed: a
// compliance_api_accessed whose status_code is 400 or more. (Other types
// name failures in their type: sso_login_failed, claude_chat_access_failed.)
func (f *Fields) Failed() bool {
	n, ok := f.statusCode.Num()
	return ok && n >= 400
}

// Actor is who did an activity: a person, a key, a machine identity, or
// Anthropic itself. Which fields are set depends on Kind; an unknown kind
// sets Kind alone.
type Actor struct {
	// Kind is actor.type (ActorUser, ActorAPI, ...).
	Kind string
	// UserID is a user_actor's user_id. Email is a user_actor's
	// email_address, or the unauthenticated_email_address an
	// unauthenticated_user_actor gave (unverified: whoever typed it).
	UserID, Email string
	// IP and UserAgent are where the request came from, for the kinds that
	// carry them (user, API key, admin key, service account, and
	// unauthenticated users in published samples).
	IP, UserAgent string
	// APIKeyID, AdminAPIKeyID and ServiceAccountID name the key or account
	// of api_actor, admin_api_key_actor and service_account_actor.
	APIKeyID, AdminAPIKeyID, ServiceAccountID string
	// Service is a system_actor's service.
	Service string
	// DirectoryID, WorkOSEventID and IdPConnectionType describe a
	// scim_directory_sync_actor.
	DirectoryID, WorkOSEventID, IdPConnectionType string
	// Issuer and Subject describe a federated_identity_actor; Subject and
	// Provider (provider.type: aws, azure, gcp, oidc) a federated_actor.
	Issuer, Subject, Provider string
	// ExternalClientID and KidHash describe an attested_device_actor.
	ExternalClientID, KidHash string
}

// Actor is the actor of the activity; an activity without one (or whose
// actor is not an object) gives the zero Actor.
func (f *Fields) Actor() Actor {
	a := &f.actor
	if !a.object {
		return Actor{}
	}
	out := Actor{Kind: a.kind.Str()}
	net := func() { out.IP, out.UserAgent = a.ip.Str(), a.userAgent.Str() }
	switch out.Kind {
	case ActorUser:
		out.UserID, out.Email = a.userID.Str(), a.email.Str()
		net()
	case ActorAPI:
		out.APIKeyID = a.apiKeyID.Str()
		net()
	case ActorAdminAPIKey:
		out.AdminAPIKeyID = a.adminKeyID.Str()
		net()
	case ActorServiceAccount:
		out.ServiceAccountID = a.serviceAccountID.Str()
		net()
	case ActorUnauthenticated:
		out.Email = a.unauthEmail.Str()
		net()
	case ActorSystem:
		out.Service = a.service.Str()
	case ActorSCIMDirectorySync:
		out.DirectoryID, out.WorkOSEventID, out.IdPConnectionType = a.directoryID.Str(), a.workosEventID.Str(), a.idpType.Str()
	case ActorFederatedIdentity:
		out.Issuer, out.Subject = a.issuer.Str(), a.subject.Str()
	case ActorFederated:
		out.Subject, out.Provider = a.subject.Str(), a.provider.Str()
	case ActorAttestedDevice:
		out.ExternalClientID, out.KidHash = a.externalClientID.Str(), a.kidHash.Str()
	}
	return out
}

// ID is the id that stands for the actor: the person, the key, the
// service account, the directory that synced, the service, the federated
// subject or the device; "" for Anthropic, an unauthenticated user and an
// unknown kind.
func (a Actor) ID() string {
	switch a.Kind {
	case ActorUser:
		return a.UserID
	case ActorAPI:
		return a.APIKeyID
	case ActorAdminAPIKey:
		return a.AdminAPIKeyID
	case ActorServiceAccount:
		return a.ServiceAccountID
	case ActorSCIMDirectorySync:
		return a.DirectoryID
	case ActorSystem:
		return a.Service
	case ActorFederatedIdentity, ActorFederated:
		return a.Subject
	case ActorAttestedDevice:
		return a.ExternalClientID
	}
	return ""
}
