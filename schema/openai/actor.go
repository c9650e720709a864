package openai

import (
	"bytes"

	"github.com/go-json-experiment/json/jsontext"
)

// Actor is who did an event. Audit logs name a session (a person signed
// in) or an API key (of a user or of a service account); request logs name
// a user, the organization or an API key by id and name.
type Actor struct {
	// Kind is actor.type: session or api_key (audit logs); user,
	// organization or api_key (request logs); another value passes through.
	Kind string
	// UserID and Email are the person behind a session or a user's key;
	// ServiceAccountID the service account behind a key.
	UserID, Email, ServiceAccountID string
	// KeyID and KeyKind (user or service_account) describe an API key.
	KeyID, KeyKind string
	// RequestID and Name are a request log's actor.id and actor.name.
	RequestID, Name string
}

// Client is the network side of a session (Fields.Client).
type Client struct {
	IP, UserAgent, JA3, JA4 string
	// Country and RegionCode are ISO codes, City and Region names.
	Country, RegionCode, Region, City string
	// Latitude, Longitude and ASN are numbers as the API wrote them
	// (strings or numbers); "" when absent or not a number.
	Latitude, Longitude, ASN string
}

// Actor is the actor of an event of either log; an event without one gives
// the zero Actor.
func (f *Fields) Actor() Actor {
	a := f.actor
	if !a.object {
		return Actor{}
	}
	out := Actor{Kind: a.kind.Str(), RequestID: a.id.Str(), Name: a.name.Str()}
	switch out.Kind {
	case "session":
		out.UserID, out.Email = a.session.user.id.Str(), a.session.user.email.Str()
	case "api_key":
		k := a.key
		out.KeyID, out.KeyKind, out.UserID, out.Email = k.id.Str(), k.kind.Str(), k.user.id.Str(), k.user.email.Str()
		out.ServiceAccountID = k.account.Str()
	}
	if out.Email == "" && looksLikeEmail(out.Name) {
		out.Email = out.Name // a request log names a user by address
	}
	return out
}

// Client is where the session that did the event came from; the zero
// Client for any other actor. Actor leaves it out: only the mappings need
// it.
func (f *Fields) Client() Client {
	if !f.actor.object || f.actor.kind.Str() != "session" {
		return Client{}
	}
	s := f.actor.session
	return Client{
		IP: s.ip.Str(), UserAgent: s.userAgent.Str(), JA3: s.ja3.Str(), JA4: s.ja4.Str(),
		Country: s.country.Str(), RegionCode: s.regionCode.Str(), Region: s.region.Str(), City: s.city.Str(),
		Latitude: number(s.latitude), Longitude: number(s.longitude), ASN: number(s.asn),
	}
}

// ID is the id that stands for the actor: the person, else the service
// account, else the key, else a request log's actor id.
func (a Actor) ID() string {
	for _, id := range []string{a.UserID, a.ServiceAccountID, a.KeyID, a.RequestID} {
		if id != "" {
			return id
		}
	}
	return ""
}

// number returns a JSON number, or a string holding one, as its text; ""
// otherwise. The API writes coordinates and AS numbers either way.
func number(t text) string {
	if _, ok := t.Num(); ok {
		return string(t)
	}
	// A string holding a number literal alone: no white space around it
	// either, so that it can stand as a JSON number where a component
	// writes it.
	s := text(t.Str())
	if _, ok := s.Num(); ok && jsontext.Value(s).IsValid() && len(bytes.TrimSpace(s)) == len(s) {
		return string(s)
	}
	return ""
}

// IsServiceAccount reports whether the actor is a service account's key.
func (a Actor) IsServiceAccount() bool { return a.ServiceAccountID != "" }
