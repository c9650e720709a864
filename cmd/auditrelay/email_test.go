package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestValidateEmailSink: validate shows an email sink's config with the
// password masked, and a bad one exits 2 naming its keys; the password is
// printed in neither.
func TestValidateEmailSink(t *testing.T) {
	const password = "smtp-pa55-zzz-secret"
	dir := t.TempDir()
	// The password comes from the environment, as it should, or is
	// written in the file (a reference's value is scrubbed from every
	// message by the config loader; a literal one must be kept out by the
	// sink itself).
	sink := func(extra string) string {
		return `sources:
  - {name: acme, type: openai_audit_logs, api_key: '${env:OPENAI_ADMIN_KEY}'}
sinks:
  - name: alerts
    type: email
    host: smtp.example.com
    username: auditrelay
    password: ${env:SMTP_PASSWORD}
    from: auditrelay <alerts@example.com>
    to: [sec@example.com]
` + extra + `checkpoint: {type: memory}
`
	}
	env := []string{"OPENAI_ADMIN_KEY=sk-admin-x", "SMTP_PASSWORD=" + password}
	for _, tc := range []struct {
		name string
		cfg  string
		code int
		want []string
	}{
		{"valid", sink(""), 0, []string{"is valid", "password: '[redacted]'", "security: starttls", "batch_delay: 10s"}},
		{"plain text login", sink("    security: none\n"), 2, []string{"sinks[0].security: is none"}},
		{"plain text login, password in the file", strings.Replace(sink("    security: none\n"), "${env:SMTP_PASSWORD}", password, 1), 2,
			[]string{"sinks[0].security: is none"}},
		{"valid, password in the file", strings.Replace(sink(""), "${env:SMTP_PASSWORD}", password, 1), 0, []string{"password: '[redacted]'"}},
		{"bad keys", sink("    port: 70000\n    subject: '{{.Nope}}'\n    cc: [nobody]\n"), 2,
			[]string{"sinks[0].port:", "sinks[0].subject:", "sinks[0].cc[0]:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			m := &Main{Stdout: &out, Stderr: &errb, Environ: env}
			if code := m.Run(context.Background(), []string{"validate", "-c", writeFile(t, dir, tc.name+".yaml", tc.cfg)}); code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out.String(), errb.String())
			}
			all := out.String() + errb.String()
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
			if strings.Contains(all, password) {
				t.Fatalf("the password was printed:\n%s", all)
			}
		})
	}
}
