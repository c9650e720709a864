package chatgpt

import "strings"

// TargetUser is the person an AUDIT_LOG's action is about, when its
// action_data names one: the user whose role changed (target_user_id),
// the address an invitation went to (invitee_email). Both are "" for
// other records and for actions that name nobody. The names are those of
// the API's samples; an action naming its person otherwise gives "".
func (f *Fields) TargetUser() (id, email string) {
	if f.Type() != TypeAuditLog {
		return "", ""
	}
	return f.targetUserID.Str(), f.inviteeEmail.Str()
}

// Failure reports whether the record says that what it records did not
// succeed: an AUDIT_LOG whose action_result is anything but SUCCESS (the
// workspace BLOCKED it), or a sub-type that names a failure
// (AUTH_LOG.login_failed, CUSTOM_AGENTS_LOG.AGENT_RUN_FAILED). A record
// saying neither is taken to have succeeded: the logs record what was
// done.
func (f *Fields) Failure() bool {
	if r := f.ActionResult(); r != "" && r != ResultSuccess {
		return true
	}
	return strings.HasSuffix(strings.ToLower(f.SubType()), "_failed")
}
