package openai

import (
	"strings"

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
func (f Fields) Actor() Actor {
	if !f.actor.IsObject() {
		return Actor{}
	}
	a := members(f.actor, "type", "id", "name", "session", "api_key")
	out := Actor{Kind: stringOf(a[0]), RequestID: stringOf(a[1]), Name: stringOf(a[2])}
	switch out.Kind {
	case "session":
		u := texts(get(a[3], "user"), "id", "email")
		out.UserID, out.Email = u[0], u[1]
	case "api_key":
		k := members(a[4], "id", "type", "user", "service_account")
		u := texts(k[2], "id", "email")
		out.KeyID, out.KeyKind, out.UserID, out.Email = stringOf(k[0]), stringOf(k[1]), u[0], u[1]
		out.ServiceAccountID = stringOf(get(k[3], "id"))
	}
	if out.Email == "" && looksLikeEmail(out.Name) {
		out.Email = out.Name // a request log names a user by address
	}
	return out
}

// Client is where the session that did the event came from; the zero
// Client for any other actor. It is apart from Actor, which the source
// reads for every event, because only the mappings need it.
func (f Fields) Client() Client {
	a := members(f.actor, "type", "session")
	if stringOf(a[0]) != "session" {
		return Client{}
	}
	s := members(a[1], "ip_address", "user_agent", "ja3", "ja4", "ip_address_details")
	d := members(s[4], "country", "region_code", "region", "city", "latitude", "longitude", "asn")
	return Client{
		IP: stringOf(s[0]), UserAgent: stringOf(s[1]), JA3: stringOf(s[2]), JA4: stringOf(s[3]),
		Country: stringOf(d[0]), RegionCode: stringOf(d[1]), Region: stringOf(d[2]), City: stringOf(d[3]),
		Latitude: number(d[4]), Longitude: number(d[5]), ASN: number(d[6]),
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
func number(r gjson.Result) string {
	switch r.Type {
	case gjson.Number:
		return r.Raw
	case gjson.String:
		// A number literal alone: no white space around it either, so
		// that it can stand as a JSON number where a component writes it.
		if gjson.Valid(r.Str) && gjson.Parse(r.Str).Type == gjson.Number && r.Str == strings.TrimSpace(r.Str) {
			return r.Str
		}
	}
	return ""
}

// IsServiceAccount reports whether the actor is a service account's key.
func (a Actor) IsServiceAccount() bool { return a.ServiceAccountID != "" }
