package email

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/httpbatch/httpbatchtest"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// auditEvent is an OpenAI audit event of typ by actor.
func auditEvent(source, id, typ, actor string, i int) pipeline.Event {
	raw := fmt.Sprintf(`{"id":%q,"type":%q,"effective_at":%d,"actor":{"type":"session","session":{"user":{"email":%q}}}}`,
		id, typ, t0.Unix()+int64(i), actor)
	return pipeline.Event{ID: id, Type: typ, Time: t0.Add(time.Duration(i) * time.Second), Source: source,
		ActorEmail: actor, Schema: "openai.audit_log", Raw: []byte(raw)}
}

// alertEvent is an alert of the detect transform over evidence.
func alertEvent(source, id, rule string, evidence ...string) pipeline.Event {
	ev, _ := json.Marshal(evidence)
	raw := fmt.Sprintf(`{"id":%q,"type":"auditrelay.alert","rule":%q,"severity":"high","summary":"%s fired",`+
		`"time":"2026-03-04T05:06:07Z","source":%q,"evidence":{"event_ids":%s,"actor_email":"jürgen@example.com","ip":"192.0.2.7"}}`,
		id, rule, rule, source, ev)
	return pipeline.Event{ID: id, Type: AlertType, Time: t0, Source: source, Raw: []byte(raw)}
}

// batch is events of source, ids <source>-0.. and types cycling.
func batch(source string, from, n int) pipeline.Batch {
	b := pipeline.Batch{Source: source}
	for i := from; i < from+n; i++ {
		b.Events = append(b.Events, auditEvent(source, fmt.Sprintf("%s-%d", source, i), "api_key.created", "ada@example.com", i))
	}
	return b
}

func baseConfig(ts *testServer) *Config {
	c := defaultConfig()
	c.Host, c.Port, c.Security = "127.0.0.1", ts.addr.Port, "none"
	c.From, c.To = "auditrelay <alerts@example.com>", []string{"sec@example.com"}
	return c
}

func newSink(t *testing.T, c *Config, logs io.Writer) *Sink {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if logs == nil {
		logs = io.Discard
	}
	s, err := New(pipeline.Settings{Name: "mail", Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}, *c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

// commitWin has s take the batches as one window of their source and commit.
func commitWin(s *Sink, bs ...pipeline.Batch) error {
	ctx := context.Background()
	for _, b := range bs {
		if err := s.Consume(ctx, b); err != nil {
			_ = s.AbortWindow(ctx, b.Source)
			return err
		}
	}
	err := s.CommitWindow(ctx, bs[0].Source, []byte("cursor"))
	if err != nil {
		_ = s.AbortWindow(ctx, bs[0].Source)
	}
	return err
}

// parsed is a mail read back with net/mail and mime/multipart.
type parsed struct {
	header  mail.Header
	subject string
	body    string
	jsonl   string // the events.jsonl attachment
	parts   int
}

func parseMail(t *testing.T, data []byte) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a mail: %v\n%s", err, data)
	}
	p := parsed{header: msg.Header}
	if p.subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatalf("subject %q: %v", msg.Header.Get("Subject"), err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		p.body = decodePart(t, mt, params, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		p.parts = 1
		return p
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p.parts++
		pmt, pparams, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		text := decodePart(t, pmt, pparams, part.Header.Get("Content-Transfer-Encoding"), part)
		if part.FileName() == "events.jsonl" {
			p.jsonl = text
		} else if pmt == "text/plain" {
			p.body = text
		}
	}
	return p
}

func decodePart(t *testing.T, mt string, params map[string]string, cte string, r io.Reader) string {
	t.Helper()
	if mt == "text/plain" && !strings.EqualFold(params["charset"], "utf-8") {
		t.Errorf("text part charset %q, want UTF-8", params["charset"])
	}
	switch strings.ToLower(cte) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	// Lines end in CRLF on the wire.
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

var msgIDRe = regexp.MustCompile(`^<auditrelay\.[0-9a-f]{32}@example\.com>$`)

// TestMailParsedBack sends an alert and its evidence over STARTTLS with a
// test CA and AUTH PLAIN, then reads the mail the server stored back.
func TestMailParsedBack(t *testing.T) {
	ca := newTestCA(t)
	ts := startServer(t, serverOpts{tls: ca.server, auth: true})
	c := baseConfig(ts)
	c.Security, c.TLS.CAFile = "starttls", ca.caFile
	c.Username, c.Password = testUser, testPassword
	c.Cc = []string{"Öps Team <ops@example.com>"}
	c.Subject = "Prüfung ⚠ {{len .Alerts}} alert(s): {{join .Rules \", \"}}\n(from {{join .Sources \",\"}})"
	var logs logBuffer
	s := newSink(t, c, &logs)

	evidence := auditEvent("acme", "audit_log-1", "api_key.created", "jürgen@example.com", 0)
	alert := alertEvent("acme", "alert-7", "admin-key-created", "audit_log-1")
	if err := commitWin(s, pipeline.Batch{Source: "acme", Events: []pipeline.Event{evidence, alert}}); err != nil {
		t.Fatal(err)
	}
	got := ts.received()
	if len(got) != 1 {
		t.Fatalf("%d mails, want 1", len(got))
	}
	r := got[0]
	if !r.TLS || r.User != testUser {
		t.Fatalf("mail received with TLS=%v by user %q, want STARTTLS and %q", r.TLS, r.User, testUser)
	}
	if r.From != "alerts@example.com" || !slices.Equal(r.To, []string{"sec@example.com", "ops@example.com"}) {
		t.Fatalf("envelope from %q to %v", r.From, r.To)
	}
	m := parseMail(t, r.Data)
	if want := "Prüfung ⚠ 1 alert(s): admin-key-created (from acme)"; m.subject != want {
		t.Errorf("subject %q, want %q", m.subject, want)
	}
	if strings.ContainsAny(m.header.Get("Subject"), "\r\n") || !strings.Contains(m.header.Get("Subject"), "=?UTF-8?") {
		t.Errorf("subject header not encoded: %q", m.header.Get("Subject"))
	}
	from, err := mail.ParseAddress(m.header.Get("From"))
	if err != nil || from.Address != "alerts@example.com" || from.Name != "auditrelay" {
		t.Errorf("From %q: %v", m.header.Get("From"), err)
	}
	cc, err := m.header.AddressList("Cc")
	if err != nil || len(cc) != 1 || cc[0].Name != "Öps Team" || cc[0].Address != "ops@example.com" {
		t.Errorf("Cc %q: %v", m.header.Get("Cc"), err)
	}
	if to, err := m.header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != "sec@example.com" {
		t.Errorf("To %q: %v", m.header.Get("To"), err)
	}
	if d, err := m.header.Date(); err != nil || time.Since(d).Abs() > time.Minute {
		t.Errorf("Date %q: %v", m.header.Get("Date"), err)
	}
	if id := m.header.Get("Message-Id"); !msgIDRe.MatchString(id) {
		t.Errorf("Message-ID %q", id)
	}
	if m.header.Get("Auto-Submitted") != "auto-generated" || m.header.Get("Mime-Version") != "1.0" {
		t.Errorf("headers %v", m.header)
	}
	for _, want := range []string{"ALERT admin-key-created (severity high)", "admin-key-created fired", "evidence: audit_log-1", "ip:       192.0.2.7",
		"api_key.created", "jürgen@example.com", "time:     2026-03-04 05:06:07 UTC", "source:   acme"} {
		if !strings.Contains(m.body, want) {
			t.Errorf("body lacks %q:\n%s", want, m.body)
		}
	}
	if want := string(evidence.Raw) + "\n" + string(alert.Raw) + "\n"; m.jsonl != want {
		t.Errorf("events.jsonl\n%s\nwant\n%s", m.jsonl, want)
	}
	if m.parts != 2 {
		t.Errorf("%d parts, want body and attachment", m.parts)
	}
	if strings.Contains(logs.String(), testPassword) {
		t.Fatal("the password is in the log")
	}

	// The same events mailed again (a window replayed after a crash)
	// carry the same Message-ID; other events another.
	if err := commitWin(s, pipeline.Batch{Source: "acme", Events: []pipeline.Event{evidence, alert}}); err != nil {
		t.Fatal(err)
	}
	if err := commitWin(s, pipeline.Batch{Source: "acme", Events: []pipeline.Event{evidence}}); err != nil {
		t.Fatal(err)
	}
	got = ts.received()
	ids := []string{parseMail(t, got[0].Data).header.Get("Message-Id"), parseMail(t, got[1].Data).header.Get("Message-Id"),
		parseMail(t, got[2].Data).header.Get("Message-Id")}
	if ids[0] != ids[1] || ids[0] == ids[2] {
		t.Errorf("Message-IDs %v: want the first two equal, the third different", ids)
	}
}

// TestImplicitTLSWithLogin sends over TLS from the first byte and logs in
// with AUTH LOGIN; a generic event renders without an alert.
func TestImplicitTLSWithLogin(t *testing.T) {
	ca := newTestCA(t)
	ts := startServer(t, serverOpts{tls: ca.server, implicit: true, auth: true})
	c := baseConfig(ts)
	c.Security, c.TLS.CAFile, c.Auth = "implicit", ca.caFile, "login"
	c.Username, c.Password = testUser, testPassword
	c.AttachEvents = false
	s := newSink(t, c, nil)
	unknown := pipeline.Event{ID: "x-1", Type: "some.future.event", Time: t0, Source: "acme", Raw: []byte(`{"id":"x-1","type":"some.future.event","new_field":[1,2]}`)}
	if err := commitWin(s, pipeline.Batch{Source: "acme", Events: []pipeline.Event{unknown}}); err != nil {
		t.Fatal(err)
	}
	got := ts.received()
	if len(got) != 1 || !got[0].TLS || got[0].User != testUser {
		t.Fatalf("received %+v", got)
	}
	if !slices.Contains(ts.logins, "LOGIN "+testUser) {
		t.Fatalf("logins %v, want AUTH LOGIN", ts.logins)
	}
	m := parseMail(t, got[0].Data)
	if m.parts != 1 || m.jsonl != "" {
		t.Fatalf("attach_events false: %d parts", m.parts)
	}
	if m.subject != "[auditrelay] 1 event: some.future.event" || !strings.Contains(m.body, "some.future.event\n  id:       x-1") ||
		!strings.Contains(m.body, "actor:    -") {
		t.Fatalf("subject %q body:\n%s", m.subject, m.body)
	}
}

// TestTLSIsNeverSkipped: a server without STARTTLS, a certificate of
// another CA, and TLS spoken to a plain-text port all fail for good
// before any credential or mail is sent.
func TestTLSIsNeverSkipped(t *testing.T) {
	ca, other := newTestCA(t), newTestCA(t)
	for _, tc := range []struct {
		name     string
		server   serverOpts
		security string
		caFile   string
		want     string
	}{
		{"no STARTTLS offered", serverOpts{auth: true, plainAuth: true}, "starttls", ca.caFile, "STARTTLS"},
		{"certificate of another CA", serverOpts{tls: other.server, auth: true}, "starttls", ca.caFile, "certificate"},
		{"implicit TLS to a plain port", serverOpts{auth: true, plainAuth: true}, "implicit", ca.caFile, "TLS handshake"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, tc.server)
			c := baseConfig(ts)
			c.Security, c.TLS.CAFile = tc.security, tc.caFile
			c.Username, c.Password = testUser, testPassword
			s := newSink(t, c, nil)
			err := commitWin(s, batch("acme", 0, 2))
			if !pipeline.IsPermanent(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want permanent naming %q", err, tc.want)
			}
			if len(ts.received()) != 0 || len(ts.logins) != 0 {
				t.Fatalf("mails %d, logins %v: want none", len(ts.received()), ts.logins)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Fatal("password in the error")
			}
		})
	}
}

// TestAuthRefused: credentials in plain text are refused by the config
// unless allowed, and a login the server refuses stops the sink for good;
// the password shows in no error, log line or printed config.
func TestAuthRefused(t *testing.T) {
	ca := newTestCA(t)
	t.Run("plain text refused by the config", func(t *testing.T) {
		c := defaultConfig()
		c.Host, c.Security, c.From, c.To = "smtp.example.com", "none", "a@example.com", []string{"b@example.com"}
		c.Username, c.Password = testUser, testPassword
		err := c.Validate()
		httpbatchtest.NamesKeys(t, err, []string{"security:"})
		if strings.Contains(err.Error(), testPassword) {
			t.Fatal("password in the error")
		}
		c.AllowInsecureAuth = true
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		if w := c.Warnings(); len(w) != 1 || !strings.HasPrefix(w[0].Error(), "allow_insecure_auth: ") || strings.Contains(w[0].Error(), testPassword) {
			t.Fatalf("warnings %v", w)
		}
	})
	t.Run("plain text allowed on purpose", func(t *testing.T) {
		ts := startServer(t, serverOpts{auth: true, plainAuth: true})
		c := baseConfig(ts)
		c.Username, c.Password, c.AllowInsecureAuth = testUser, testPassword, true
		if w := c.Warnings(); len(w) != 0 {
			t.Fatalf("loopback warned: %v", w)
		}
		s := newSink(t, c, nil)
		if err := commitWin(s, batch("acme", 0, 1)); err != nil {
			t.Fatal(err)
		}
		if got := ts.received(); len(got) != 1 || got[0].User != testUser || got[0].TLS {
			t.Fatalf("received %+v", got)
		}
	})
	t.Run("a login failing for now is retried", func(t *testing.T) {
		ts := startServer(t, serverOpts{tls: ca.server, auth: true})
		ts.authFail = func(n int) *smtp.SMTPError {
			if n == 1 {
				return &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "temporary authentication failure"}
			}
			return nil
		}
		c := baseConfig(ts)
		c.Security, c.TLS.CAFile = "starttls", ca.caFile
		c.Username, c.Password = testUser, testPassword
		s := newSink(t, c, nil)
		err := commitWin(s, batch("acme", 0, 2))
		if err == nil || pipeline.IsPermanent(err) || !strings.Contains(err.Error(), "454") {
			t.Fatalf("err %v, want retryable 454", err)
		}
		if err := commitWin(s, batch("acme", 0, 2)); err != nil {
			t.Fatal(err)
		}
		if got := ts.received(); len(got) != 1 || got[0].User != testUser {
			t.Fatalf("received %+v", got)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		ts := startServer(t, serverOpts{tls: ca.server, auth: true})
		c := baseConfig(ts)
		c.Security, c.TLS.CAFile = "starttls", ca.caFile
		wrong := "wr0ng-but-still-secret"
		c.Username, c.Password = testUser, pipeline.Secret(wrong)
		var logs logBuffer
		s := newSink(t, c, &logs)
		err := commitWin(s, batch("acme", 0, 2))
		if !pipeline.IsPermanent(err) || !strings.Contains(err.Error(), "535") {
			t.Fatalf("err %v, want permanent 535", err)
		}
		if len(ts.received()) != 0 {
			t.Fatal("mail sent without a login")
		}
		for what, text := range map[string]string{"error": err.Error(), "log": logs.String(), "config": fmt.Sprintf("%v %+v %#v", c, c, c)} {
			if strings.Contains(text, wrong) {
				t.Fatalf("password in the %s: %s", what, text)
			}
		}
		if !strings.Contains(logs.String(), "535") {
			t.Fatalf("the failure is not logged: %s", logs.String())
		}
		js, _ := json.Marshal(c)
		if strings.Contains(string(js), wrong) {
			t.Fatal("password in the JSON of the config")
		}
	})
}

// TestServerAnswers drives the sink as the engine does (a failed commit
// aborts the window and sends it again) against each kind of answer.
func TestServerAnswers(t *testing.T) {
	code := func(c int) *smtp.SMTPError {
		return &smtp.SMTPError{Code: c, EnhancedCode: smtp.EnhancedCode{c / 100, 0, 0}, Message: "test says " + fmt.Sprint(c)}
	}
	for _, tc := range []struct {
		name    string
		cmd     string
		code    int
		mails   int // mails accepted in the end
		reject  bool
		retries int // failed commits before the window went through
	}{
		{"451 at DATA, then 250", "DATA", 451, 1, false, 1},
		{"421 at MAIL, then 250", "MAIL", 421, 1, false, 1},
		{"450 at RCPT, then 250", "RCPT", 450, 1, false, 1},
		{"550 at RCPT: rejected", "RCPT", 550, 0, true, 0},
		{"554 at DATA: rejected", "DATA", 554, 0, true, 0},
		{"552 at MAIL: rejected", "MAIL", 552, 0, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, serverOpts{})
			ts.refuse = func(cmd string, attempt int) *smtp.SMTPError {
				if cmd == tc.cmd && attempt == 1 {
					return code(tc.code)
				}
				return nil
			}
			c := baseConfig(ts)
			c.MaxEventsPerMail = 50
			s := newSink(t, c, nil)
			b := batch("acme", 0, 5)
			ctx := context.Background()
			failed := 0
			var rejected *pipeline.RejectedError
			for attempt := 0; attempt < 5; attempt++ {
				err := s.Consume(ctx, b)
				if err == nil {
					err = s.CommitWindow(ctx, "acme", nil)
				}
				if errors.As(err, &rejected) {
					// The engine hands them to the dead letter and goes on.
					err = nil
				}
				if err == nil {
					break
				}
				if pipeline.IsPermanent(err) {
					t.Fatalf("attempt %d: permanent %v", attempt, err)
				}
				if !strings.Contains(err.Error(), fmt.Sprint(tc.code)) {
					t.Fatalf("error %v does not name the answer %d", err, tc.code)
				}
				failed++
				_ = s.AbortWindow(ctx, "acme")
			}
			if failed != tc.retries {
				t.Fatalf("%d failed commits, want %d", failed, tc.retries)
			}
			if got := ts.received(); len(got) != tc.mails {
				t.Fatalf("%d mails accepted, want %d", len(got), tc.mails)
			}
			if tc.mails == 1 {
				m := parseMail(t, ts.received()[0].Data)
				if n := strings.Count(m.jsonl, "\n"); n != len(b.Events) {
					t.Fatalf("the mail holds %d events, want %d", n, len(b.Events))
				}
			}
			if tc.reject != (rejected != nil) {
				t.Fatalf("rejected %v, want %v", rejected, tc.reject)
			}
			if tc.reject {
				if len(rejected.Rejected) != len(b.Events) || !strings.Contains(rejected.Rejected[0].Reason, fmt.Sprint(tc.code)) {
					t.Fatalf("rejected %v", rejected)
				}
			}
		})
	}
}
