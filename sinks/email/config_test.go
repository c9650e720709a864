package email

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/httpbatch/httpbatchtest"
)

func TestConfigValidateNamesKeys(t *testing.T) {
	c := defaultConfig()
	c.Port, c.Security, c.Auth = -1, "ssl", "cram"
	c.Password = testPassword
	c.From, c.To, c.Cc = "not an address", nil, []string{"also not"}
	c.Subject, c.Body = "{{.Count", "{{.Nope}}"
	c.BatchDelay, c.MaxEventsPerMail, c.Timeout = -time.Second, 0, 0
	c.HELO = "two words"
	err := c.Validate()
	httpbatchtest.NamesKeys(t, err, []string{"host:", "port:", "security:", "username:", "auth:", "helo:", "from:", "to:", "cc[0]:",
		"subject:", "body:", "batch_delay:", "max_events_per_mail:", "timeout:"})
	if strings.Contains(err.Error(), testPassword) {
		t.Fatal("password in the error")
	}

	c = defaultConfig()
	c.Host, c.Security, c.From, c.To = "smtp.example.com:587", "none", "a@example.com", []string{"b@example.com", "bad"}
	c.TLS.ServerName = "smtp.example.com"
	c.Username = "u"
	httpbatchtest.NamesKeys(t, c.Validate(), []string{"host:", "tls:", "password:", "security:", "to[1]:"})

	c = defaultConfig()
	c.Host, c.From, c.To = "::1", "a@example.com", []string{"b@example.com"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for sec, port := range map[string]int{"starttls": 587, "implicit": 465, "none": 25} {
		c.Security = sec
		if c.port() != port {
			t.Errorf("security %s: port %d, want %d", sec, c.port(), port)
		}
	}
}

// TestTemplates: the fields a custom template reads, and a template that
// fails on some mails falls back to the built-in one, with a warning.
func TestTemplates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs logBuffer
		c := defaultConfig()
		c.Host, c.From, c.To = "smtp.example.com", "a@example.com", []string{"b@example.com"}
		c.Subject = "{{(index .Alerts 0).Alert.Severity}}: {{(index .Alerts 0).Alert.Rule}}"
		c.Body = `{{range .Events}}{{.Type}} {{.Vendor}} {{index .Fields "ip_address"}} {{with .Alert}}{{.Rule}}/{{.Group}}/{{.Value}}/{{.Actor}}{{end}};{{end}}`
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		s, err := New(pipeline.Settings{Name: "mail", Logger: slog.New(slog.NewTextHandler(&logs, nil))}, *c)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Shutdown(context.Background())
		o := &outbox{}
		s.send = o.send(t)

		ev := auditEvent("acme", "a-1", "login.failed", "ada@example.com", 0)
		ev.Raw = []byte(`{"id":"a-1","type":"login.failed","ip_address":"198.51.100.4"}`)
		al := alertEvent("acme", "alert-1", "login-burst", "a-1")
		al.Raw = []byte(strings.Replace(string(al.Raw), `"severity"`, `"group":"198.51.100.4","value":"NZ","severity"`, 1))
		data := mailData([]item{{"acme", ev}, {"acme", al}}, false)
		subject, body, err := s.tmpl.render(data)
		if err != nil {
			t.Fatal(err)
		}
		if subject != "high: login-burst" || body != "login.failed openai 198.51.100.4 ;auditrelay.alert  <no value> login-burst/198.51.100.4/NZ/jürgen@example.com;" {
			t.Fatalf("subject %q body %q", subject, body)
		}

		// No alert in this mail: index .Alerts 0 fails, the built-in
		// subject is used and the failure logged.
		if err := commitWin(s, pipeline.Batch{Source: "acme", Events: []pipeline.Event{ev}}); err != nil {
			t.Fatal(err)
		}
		if m := o.mails(); len(m) != 1 || m[0].subject != "[auditrelay] 1 event: login.failed" {
			t.Fatalf("mails %v", m)
		}
		if !strings.Contains(logs.String(), "built-in one was used") {
			t.Fatalf("no warning: %s", logs.String())
		}
	})
}

// TestShutdown: safe without Start and twice, and it waits for a mail in
// flight.
func TestShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := defaultConfig()
		c.Host, c.From, c.To = "smtp.example.com", "a@example.com", []string{"b@example.com"}
		s, err := New(pipeline.Settings{Name: "mail", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, *c)
		if err != nil {
			t.Fatal(err)
		}
		release := make(chan struct{})
		s.send = func(ctx context.Context, _ *gomail.Msg) error {
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		_ = s.Consume(context.Background(), batch("acme", 0, 1))
		done := commitAsync(s, "acme")
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err == nil {
			t.Fatal("shutdown returned with a mail in flight")
		}
		if err := <-done; err == nil {
			t.Fatal("the abandoned mail counted as delivered")
		}
		close(release)
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatal("second shutdown:", err)
		}
	})
}
