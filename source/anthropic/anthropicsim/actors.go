package anthropicsim

import (
	"strconv"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
)

// actorKind is an actor.type the simulator writes.
type actorKind uint8

// The actor kinds of the API notes, and one the notes do not know, which a
// reader must pass through.
const (
	actorUser actorKind = iota
	actorAPI
	actorAdminKey
	actorUnauthenticated
	actorAnthropic
	actorSCIM
	actorSystem
	actorServiceAccount
	actorFederatedIdentity
	actorFederated
	actorAttestedDevice
	actorUnknown
	numActorKinds
)

var actorNames = [numActorKinds]string{
	"user_actor", "api_actor", "admin_api_key_actor", "unauthenticated_user_actor", "anthropic_actor",
	"scim_directory_sync_actor", "system_actor", "service_account_actor", "federated_identity_actor",
	"federated_actor", "attested_device_actor", "delegated_agent_actor",
}

// ActorTypes lists the actor.type values the simulator writes: every kind
// of the API notes, then delegated_agent_actor, a kind they do not name.
func ActorTypes() []string { return append([]string(nil), actorNames[:]...) }

// unknownActorShare is the share of activities whose actor is of the kind
// the notes do not name.
const unknownActorShare = 0.004

// pool is the number of distinct actors of kind k: whoever it is, the same
// few show up again and again.
func (d *directory) pool(k actorKind) int {
	switch k {
	case actorUser, actorUnknown:
		return len(d.users)
	case actorAPI:
		return len(d.apiKeys)
	case actorAdminKey:
		return len(d.admin)
	case actorServiceAccount:
		return len(d.accounts)
	case actorSCIM:
		return len(d.scim)
	case actorAttestedDevice:
		return len(d.devices)
	}
	return 8
}

var (
	systemServices = []string{"data_retention", "billing", "directory_sync", "seat_reconciliation"}
	oidcIssuers    = []string{"https://token.actions.githubusercontent.com", "https://gitlab.example.com", "https://oidc.eks.us-east-1.amazonaws.com/id/5C2F1E0A9B"}
	oidcSubjects   = []string{"repo:acme/support-bot:ref:refs/heads/main", "project_path:acme/pipeline:ref_type:branch:ref:main", "system:serviceaccount:prod:claude-runner"}
	lostEmails     = []string{"j.doe@gmail.com", "former.contractor@outlook.com", "it-helpdesk@acme-corp.example", "unknown.visitor@proton.me"}
)

// writeActor writes the actor object of kind k, the who-th of its pool.
func (s *Server) writeActor(w *simkit.JSON, r *simkit.RNG, k actorKind, who int) {
	d := &s.dir
	w.Key("actor")
	w.Open()
	w.KStr("type", actorNames[k])
	ip := func(base string) {
		if r.Chance(0.08) { // travelling, or a VPN
			base = ipPrefixes[r.Intn(len(ipPrefixes))] + strconv.Itoa(r.Between(1, 254))
		}
		w.KStr("ip_address", base)
	}
	switch k {
	case actorUser:
		u := &d.users[who]
		w.KStr("email_address", u.email)
		w.KStr("user_id", u.id)
		ip(u.ip)
		w.KStr("user_agent", u.ua)
	case actorAPI:
		w.KStr("api_key_id", d.apiKeys[who])
		ip("203.0.113." + strconv.Itoa(10+who))
		w.KStr("user_agent", simkit.Pick(r, clientAgents))
	case actorAdminKey:
		w.KStr("admin_api_key_id", d.admin[who])
		ip("198.51.100." + strconv.Itoa(200+who))
		w.KStr("user_agent", simkit.Pick(r, clientAgents))
	case actorUnauthenticated:
		w.Key("unauthenticated_email_address")
		if r.Chance(0.3) {
			w.Null()
		} else {
			w.Str(simkit.Pick(r, lostEmails))
		}
		ip(ipPrefixes[r.Intn(len(ipPrefixes))] + strconv.Itoa(r.Between(1, 254)))
		w.KStr("user_agent", simkit.Pick(r, browserAgents))
	case actorAnthropic:
		w.KNull("email_address")
	case actorSCIM:
		dir := d.scim[who]
		w.KStr("workos_event_id", "event_01"+string(r.AppendFrom(nil, base62, 24)))
		w.KStr("directory_id", dir.id)
		w.KStr("idp_connection_type", dir.idp)
	case actorSystem:
		w.KStr("service", systemServices[who%len(systemServices)])
	case actorServiceAccount:
		w.KStr("service_account_id", d.accounts[who])
		ip("192.0.2." + strconv.Itoa(100+who))
		w.KStr("user_agent", simkit.Pick(r, clientAgents))
	case actorFederatedIdentity:
		w.KStr("issuer", oidcIssuers[who%len(oidcIssuers)])
		w.KStr("subject", oidcSubjects[who%len(oidcSubjects)])
		w.Key("audience")
		w.OpenArray()
		w.Str("https://api.anthropic.com")
		if who%2 == 1 {
			w.Str("sts.amazonaws.com")
		}
		w.CloseArray()
	case actorFederated:
		w.Key("provider")
		w.Open()
		switch who % 4 {
		case 0:
			w.KStr("type", "aws")
			w.KStr("account_id", "123456789012")
			w.KStr("role_arn", "arn:aws:iam::123456789012:role/claude-batch")
		case 1:
			w.KStr("type", "azure")
			w.KStr("tenant_id", string(simkit.AppendUUID(nil, simkit.Hash(s.key, 0xa2), simkit.Hash(s.key, 0xa3))))
			w.KStr("client_id", string(simkit.AppendUUID(nil, simkit.Hash(s.key, 0xa4), simkit.Hash(s.key, 0xa5))))
		case 2:
			w.KStr("type", "gcp")
			w.KStr("project_id", "acme-ml-prod")
			w.KStr("service_account_email", "claude-runner@acme-ml-prod.iam.gserviceaccount.com")
		default:
			w.KStr("type", "oidc")
			w.KStr("issuer", oidcIssuers[0])
		}
		w.Close()
		w.KStr("subject", oidcSubjects[who%len(oidcSubjects)])
	case actorAttestedDevice:
		dev := d.devices[who]
		w.KStr("external_client_id", dev.clientID)
		w.KStr("kid_hash", dev.kidHash)
	case actorUnknown:
		// Fields nobody has seen yet, nested: a reader passes them on.
		u := &d.users[who]
		w.KStr("agent_id", "agent_01"+string(r.AppendFrom(nil, base62, 22)))
		w.Key("on_behalf_of")
		w.Open()
		w.KStr("user_id", u.id)
		w.KStr("email_address", u.email)
		w.Close()
		ip(u.ip)
	}
	w.Close()
}

// actorUserIndex is the directory user an activity's actor is, -1 when
// the actor is not a user_actor: what actor_ids[] filters on.
func actorUserIndex(m *meta) int {
	if m.actor == actorUser {
		return m.who
	}
	return -1
}
