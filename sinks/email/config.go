package email

import (
	"errors"
	"net"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/config/tlsconfig"
	"github.com/auditrelay/auditrelay/pipeline"
)

// Config configures the email sink: events (in practice the detect
// transform's alerts) mailed through an SMTP server, several to a mail,
// each mail counted as delivered at the server's 250 after DATA.
type Config struct {
	// Host is the SMTP server's host name or address (required). With TLS
	// its certificate must name it (or tls.server_name).
	Host string `koanf:"host"`
	// Port is the SMTP server's port; 0 (the default) means 587 for
	// starttls, 465 for implicit and 25 for none.
	Port int `koanf:"port"`
	// Security is how the connection is protected: starttls (the default:
	// the server must offer STARTTLS, a server that does not is an error,
	// never a fallback to plain text), implicit (TLS from the first byte,
	// "SMTPS", usually port 465) or none (plain text, for a relay on the
	// same host or a trusted network).
	// One of: starttls, implicit, none.
	Security string `koanf:"security"`
	// TLS configures the TLS of starttls and implicit: a CA of its own, a
	// client certificate, the name to check. It must be left out with
	// security none.
	TLS tlsconfig.Config `koanf:"tls"`
	// Username logs in to the server when set (SMTP AUTH); password is
	// then required.
	Username string `koanf:"username"`
	// Password is the password of username; a secret, never printed.
	Password pipeline.Secret `koanf:"password"`
	// Auth is the SMTP AUTH mechanism used with username.
	// One of: plain, login.
	Auth string `koanf:"auth"`
	// AllowInsecureAuth lets username and password be sent with security
	// none, in plain text; without it that combination is an error.
	AllowInsecureAuth bool `koanf:"allow_insecure_auth"`
	// HELO is the name the sink gives itself in EHLO; empty means this
	// machine's host name.
	HELO string `koanf:"helo"`
	// From is the sender's address, such as `auditrelay
	// <alerts@example.com>` (required).
	From string `koanf:"from"`
	// To are the recipients' addresses (at least one).
	To []string `koanf:"to"`
	// Cc are more recipients, shown as copied.
	Cc []string `koanf:"cc"`
	// Subject is the text/template of the subject line, executed with the
	// mail: .Events, .Alerts, .Rules, .Sources, .Count, and per event
	// .Type, .ID, .Time, .Actor, .Source, .Fields and .Alert (.Rule,
	// .Severity, .Summary, .Evidence, .IP, .Link); every field is listed
	// in docs/operations.md, "Alerts by e-mail". Line breaks in the
	// result become spaces. Empty means the built-in subject, which
	// names the alerts' rules, or the first event's type, and how many
	// events the mail holds.
	Subject string `koanf:"subject"`
	// Body is the text/template of the plain-text body, executed with the
	// mail like subject. Empty means the built-in body: for every event
	// its type, id, time, actor and source, and for an alert its rule,
	// severity, summary, evidence ids and link.
	Body string `koanf:"body"`
	// AttachEvents attaches the mail's events as delivered, one JSON
	// object a line, as events.jsonl.
	AttachEvents bool `koanf:"attach_events"`
	// BatchDelay is the longest a mail waits for more events after its
	// first one; a mail leaves sooner when it is full or when every
	// window with events in it is committing. 0 sends a mail as soon as
	// one window with events in it commits.
	BatchDelay time.Duration `koanf:"batch_delay"`
	// MaxEventsPerMail is the most events one mail holds; more make more
	// mails.
	MaxEventsPerMail int `koanf:"max_events_per_mail"`
	// Timeout bounds connecting and each exchange with the server (the
	// whole DATA included).
	Timeout time.Duration `koanf:"timeout"`
}

var (
	_ pipeline.Config = (*Config)(nil)
	_ pipeline.Warner = (*Config)(nil)
)

func defaultConfig() *Config {
	return &Config{Security: "starttls", Auth: "plain", AttachEvents: true, BatchDelay: 10 * time.Second,
		MaxEventsPerMail: 100, Timeout: 30 * time.Second}
}

// Validate implements pipeline.Config.
func (c *Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) { errs = append(errs, pipeline.FieldError(key, format, args...)) }
	if strings.TrimSpace(c.Host) == "" {
		add("host", "is required")
	} else if net.ParseIP(c.Host) == nil && strings.ContainsAny(c.Host, " /:[]") {
		add("host", "must be a host name or address without a port or scheme, got %q (the port goes in port)", c.Host)
	}
	if c.Port < 0 || c.Port > 65535 {
		add("port", "must be 1..65535 (0: the security's default), got %d", c.Port)
	}
	switch c.Security {
	case "starttls", "implicit":
	case "none":
		if c.TLS.Active() {
			add("tls", "is set, but security is none and the connection would stay plain text: use starttls or implicit, or drop tls")
		}
	default:
		add("security", "must be starttls, implicit or none, got %q", c.Security)
	}
	errs = append(errs, pipeline.SectionErrors("tls", c.TLS.Validate())...)
	switch {
	case c.Username == "" && c.Password != "":
		add("username", "is required with password")
	case c.Username != "" && c.Password == "":
		add("password", "is required with username")
	}
	if c.Auth != "plain" && c.Auth != "login" {
		add("auth", "must be plain or login, got %q", c.Auth)
	}
	if c.Username != "" && c.Security == "none" && !c.AllowInsecureAuth {
		add("security", "is none: username and password would cross the network in plain text; use starttls or implicit, or set allow_insecure_auth: true")
	}
	if strings.ContainsAny(c.HELO, " \r\n") {
		add("helo", "must be a host name, got %q", c.HELO)
	}
	if strings.TrimSpace(c.From) == "" {
		add("from", "is required")
	} else if _, err := mail.ParseAddress(c.From); err != nil {
		add("from", "is not an e-mail address: %q (%v)", c.From, err)
	}
	if len(c.To) == 0 {
		add("to", "needs at least one address")
	}
	for key, list := range map[string][]string{"to": c.To, "cc": c.Cc} {
		for i, a := range list {
			if _, err := mail.ParseAddress(a); err != nil {
				add(key+"["+strconv.Itoa(i)+"]", "is not an e-mail address: %q (%v)", a, err)
			}
		}
	}
	if _, err := parseTemplates(c.Subject, c.Body); err != nil {
		errs = append(errs, err)
	}
	if c.BatchDelay < 0 {
		add("batch_delay", "must be >= 0")
	}
	if c.MaxEventsPerMail < 1 || c.MaxEventsPerMail > 10000 {
		add("max_events_per_mail", "must be 1..10000, got %d", c.MaxEventsPerMail)
	}
	if c.Timeout <= 0 {
		add("timeout", "must be > 0")
	}
	return errors.Join(errs...)
}

// Warnings implements pipeline.Warner: a password allowed across the
// network in plain text.
func (c *Config) Warnings() []error {
	if c.Security == "none" && c.Username != "" && !pipeline.IsLoopback(c.Host) {
		return []error{pipeline.FieldError("allow_insecure_auth", "%s gets the password in plain text: use security starttls or implicit", c.Host)}
	}
	return nil
}

// port returns the configured port or the security's default.
func (c *Config) port() int {
	switch {
	case c.Port != 0:
		return c.Port
	case c.Security == "implicit":
		return 465
	case c.Security == "none":
		return 25
	}
	return 587
}

// helo returns the name given in EHLO.
func (c *Config) helo() string {
	if c.HELO != "" {
		return c.HELO
	}
	if h, err := os.Hostname(); err == nil && h != "" && !strings.ContainsAny(h, " \r\n") {
		return h
	}
	return "localhost"
}

// addr is host:port, for messages.
func (c *Config) addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.port())) }
