package anthropic

import (
	"bytes"
	"strings"

	"github.com/auditrelay/auditrelay/schema/internal/jsonread"
)

// Resource is what an activity is about: Kind names what it is (the noun
// of the member that holds its id: claude_chat, api_key, role), ID and
// Name are as the activity gives them (either may be "").
type Resource struct{ Kind, ID, Name string }

// namesSomething reports whether a top-level member names something an
// activity may be about: an id or a name.
func namesSomething(member []byte) bool {
	switch string(member) {
	case "id", "organization_uuid":
		return false
	case "filename", "title", "domain":
		return true
	}
	return bytes.HasSuffix(member, []byte("_id")) || bytes.HasSuffix(member, []byte("_name"))
}

// Resource is what the activity is about. An activity's type is a noun
// and a verb (claude_chat_created, platform_api_key_updated): the
// resource is the id member named after the longest run of the noun's
// words (claude_chat_id; for platform_api_key, api_key_id; for
// rbac_role_assigned, role_id), else the first id member the activity
// has besides its organization and request. Name is the member
// <kind>_name, or <last word of kind>_name, or filename, title or domain.
// The zero Resource when the activity names nothing by id or name.
//
// The activity types are hundreds and grow; no published list says which
// member holds what an activity is about, so this is our reading of their
// names, which the published samples follow.
func (f *Fields) Resource() Resource {
	words := strings.Split(f.Type(), "_")
	if len(words) > 1 {
		noun := words[:len(words)-1]
		for n := len(noun); n > 0; n-- {
			for start := 0; start+n <= len(noun); start++ {
				kind := strings.Join(noun[start:start+n], "_")
				if id := f.ref(kind + "_id"); id != "" {
					return Resource{Kind: kind, ID: id, Name: f.nameOf(kind)}
				}
			}
		}
	}
	for _, r := range f.refs {
		m := r.member
		if !strings.HasSuffix(m, "_id") || m == "organization_id" || m == "request_id" {
			continue
		}
		if id := f.ref(m); id != "" {
			kind := strings.TrimSuffix(m, "_id")
			return Resource{Kind: kind, ID: id, Name: f.nameOf(kind)}
		}
	}
	for _, kind := range noun(words) {
		if name := f.nameOf(kind); name != "" {
			return Resource{Kind: kind, Name: name}
		}
	}
	return Resource{}
}

// noun is the noun of a type's words, whole: the type without its verb.
func noun(words []string) []string {
	if len(words) < 2 {
		return nil
	}
	return []string{strings.Join(words[:len(words)-1], "_")}
}

// ref is the string value of the top-level member m, the last one given.
func (f *Fields) ref(m string) string {
	for i := len(f.refs) - 1; i >= 0; i-- {
		if f.refs[i].member == m {
			return f.refs[i].value.Str()
		}
	}
	return ""
}

func (f *Fields) nameOf(kind string) string {
	last := kind[strings.LastIndexByte(kind, '_')+1:]
	for _, m := range []string{kind + "_name", last + "_name", "filename", "title", "domain"} {
		if v := f.ref(m); v != "" {
			return v
		}
	}
	return ""
}

// Role is the role an activity gave (current_role, role, invited_role, or
// a role_name it created) and the one it replaced (previous_role); ""
// when absent.
func (f *Fields) Role() (role, previous string) {
	a := &f.about
	for _, t := range []text{a.currentRole, a.role, a.invitedRole} {
		if s := t.Str(); s != "" {
			return s, a.previousRole.Str()
		}
	}
	return f.ref("role_name"), a.previousRole.Str()
}

// Request is what a compliance_api_accessed activity says of the call:
// its request_id, request_method and status_code (0 when absent).
func (f *Fields) Request() (id, method string, status int) {
	n, ok := f.statusCode.Num()
	if ok && n == float64(int(n)) {
		status = int(n)
	}
	return f.about.requestID.Str(), f.about.requestMethod.Str(), status
}

// SignIn is what a sign-in activity says of it: auth_method (sso,
// magic_link, social), mfa_method (not_used, totp, webauthn) and, for a
// failed one, failure_reason; "" when absent.
func (f *Fields) SignIn() (authMethod, mfaMethod, failureReason string) {
	a := &f.about
	return a.authMethod.Str(), a.mfaMethod.Str(), a.failureReason.Str()
}

// Members are the ids of member_ids (a group's members that were added
// or removed), nil when absent; values that are not strings are left out.
func (f *Fields) Members() []string {
	raw := f.about.memberIDs
	if len(raw) == 0 || raw[0] != '[' {
		return nil
	}
	var out []string
	d := jsonread.NewDecoder(raw)
	if _, err := d.ReadToken(); err != nil {
		return nil
	}
	for d.PeekKind() != ']' && d.PeekKind() != 0 {
		v, err := d.ReadValue()
		if err != nil {
			return out
		}
		if s := text(v).Str(); s != "" {
			out = append(out, s)
		}
	}
	return out
}
