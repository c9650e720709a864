package anthropic

import "strings"

// TargetUser is the person an activity is about, when it names one beside
// its actor: the user whose role changed, who was created or updated by
// directory sync, whose session was revoked, who joined a workspace
// (user_id, user_email); who was deleted (deleted_user_id,
// deleted_user_email); who was given or lost a role (principal_id or
// target_id, when principal_type or target_type is user); the new primary
// owner (new_owner_id); the address an invitation went to (invited_email,
// an address alone). Both are "" when the activity names nobody.
func (f *Fields) TargetUser() (id, email string) {
	t := &f.target
	switch {
	case t.userID.Str() != "" || t.userEmail.Str() != "":
		return t.userID.Str(), t.userEmail.Str()
	case t.deletedID.Str() != "" || t.deletedEmail.Str() != "":
		return t.deletedID.Str(), t.deletedEmail.Str()
	case t.principalKind.Str() == "user" && t.principalID.Str() != "":
		return t.principalID.Str(), ""
	case t.targetKind.Str() == "user" && t.targetID.Str() != "":
		return t.targetID.Str(), ""
	case t.newOwnerID.Str() != "":
		return t.newOwnerID.Str(), ""
	}
	return "", t.invitedEmail.Str()
}

// Failure reports whether the activity records something that did not
// succeed: a type that names a failure (sso_login_failed,
// claude_chat_access_failed: it ends in _failed), or a Compliance API call
// that failed (Failed). Any other activity records what was done.
func (f *Fields) Failure() bool {
	return strings.HasSuffix(f.Type(), "_failed") || f.Failed()
}
