package openai

import "testing"

func TestTargetUser(t *testing.T) {
	for _, tc := range []struct {
		raw        string
		requestLog bool
		want       string
	}{
		{`{"type":"user.added","user.added":{"id":"user_1","data":{"role":"owner"}}}`, false, "user_1"},
		{`{"type":"role.assignment.created","role.assignment.created":{"id":"ra_1","principal_id":"user_2","principal_type":"user"}}`, false, "user_2"},
		{`{"type":"role.assignment.created","role.assignment.created":{"id":"ra_1","principal_id":"group_1","principal_type":"group"}}`, false, ""},
		{`{"type":"project.created","project.created":{"id":"proj_1"}}`, false, ""},
		{`{"event":"organization.user.deleted","target":{"type":"user","id":"user_3"}}`, true, "user_3"},
		{`{"event":"chat.completions.create","target":{"type":"model","id":"gpt-4o"}}`, true, ""},
	} {
		typ := ""
		if !tc.requestLog {
			f := Read([]byte(tc.raw), "")
			typ = f.typ.Str()
		}
		f := Read([]byte(tc.raw), typ)
		if got := f.TargetUser(tc.requestLog); got != tc.want {
			t.Errorf("%s: TargetUser = %q, want %q", tc.raw, got, tc.want)
		}
	}
}
