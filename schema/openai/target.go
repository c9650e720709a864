package openai

import "strings"

// TargetUser is the id of the user an event is about, "" when it names
// none: a request log's target of type user; an audit log's user.* payload
// (the user added, updated or deleted); a role assignment's principal when
// it is a user. Read must have been given the event's type for the audit
// log's payload to be read.
func (f *Fields) TargetUser(requestLog bool) string {
	if requestLog {
		if kind, id := f.Target(); kind == "user" {
			return id
		}
		return ""
	}
	switch t := f.typ.Str(); {
	case strings.HasPrefix(t, "user."):
		return f.PayloadID()
	case strings.HasPrefix(t, "role.assignment.") && f.payload.principalKind.Str() == "user":
		return f.payload.principalID.Str()
	}
	return ""
}
