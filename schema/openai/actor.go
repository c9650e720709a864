package openai

import (
	"github.com/tidwall/gjson"
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
	// Client is where a session came from.
	Client Client
}

// Client is the network side of a session.
type Client struct {
	IP, UserAgent, JA3, JA4 string
	// Country and RegionCode are ISO codes, City and Region names.
	Country, RegionCode, Region, City string
	// Latitude, Longitude and ASN are numbers as the API wrote them
	// (strings or numbers); "" when absent or not a number.
	Latitude, Longitude, ASN string
}

// ReadActor reads the actor of an event of either log; an event without
// one gives the zero Actor.
func ReadActor(raw []byte) Actor {
	a := gjson.GetBytes(raw, "actor")
	if !a.IsObject() {
		return Actor{}
	}
	get := func(path string) string { return stringOf(a.Get(path)) }
	out := Actor{Kind: get("type"), RequestID: get("id"), Name: get("name")}
	switch out.Kind {
	case "session":
		s := a.Get("session")
		out.UserID, out.Email = stringOf(s.Get("user.id")), stringOf(s.Get("user.email"))
		d := s.Get("ip_address_details")
		out.Client = Client{
			IP: stringOf(s.Get("ip_address")), UserAgent: stringOf(s.Get("user_agent")),
			JA3: stringOf(s.Get("ja3")), JA4: stringOf(s.Get("ja4")),
			Country: stringOf(d.Get("country")), RegionCode: stringOf(d.Get("region_code")),
			Region: stringOf(d.Get("region")), City: stringOf(d.Get("city")),
			Latitude: number(d.Get("latitude")), Longitude: number(d.Get("longitude")), ASN: number(d.Get("asn")),
		}
	case "api_key":
		k := a.Get("api_key")
		out.KeyID, out.KeyKind = stringOf(k.Get("id")), stringOf(k.Get("type"))
		out.UserID, out.Email = stringOf(k.Get("user.id")), stringOf(k.Get("user.email"))
		out.ServiceAccountID = stringOf(k.Get("service_account.id"))
	}
	if out.Email == "" && looksLikeEmail(out.Name) {
		out.Email = out.Name // a request log names a user by address
	}
	return out
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

// IsServiceAccount reports whether the actor is a service account's key.
func (a Actor) IsServiceAccount() bool { return a.ServiceAccountID != "" }

// number returns a JSON number, or a string holding one, as its text; ""
// otherwise. The API writes coordinates and AS numbers either way.
func number(r gjson.Result) string {
	switch r.Type {
	case gjson.Number:
		return r.Raw
	case gjson.String:
		if gjson.Valid(r.Str) && gjson.Parse(r.Str).Type == gjson.Number {
			return r.Str
		}
	}
	return ""
}
