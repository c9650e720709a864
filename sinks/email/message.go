package email

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"text/template"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/auditrelay/auditrelay/pipeline"
)

// AlertType is the type of the events the detect transform raises.
const AlertType = "auditrelay.alert"

// Mail is what the subject and body templates are executed with.
type Mail struct {
	// Events are the mail's events, each source's in the order delivered
	// (oldest first).
	Events []Event
	// Alerts are the events of Events that are alerts (type
	// auditrelay.alert).
	Alerts []Event
	// Rules are the alerts' rule names, each once, in order.
	Rules []string
	// Sources are the names of the sources the events came from, sorted.
	Sources []string
	// Count is the number of events.
	Count int
	// Attached says that the events are attached as events.jsonl.
	Attached bool
}

// Event is one event as the templates see it. Any event type renders:
// only Alert depends on it.
type Event struct {
	// Type, ID and Time are the event's type, id and time.
	Type string
	ID   string
	Time time.Time
	// Source is the name of the source that delivered it; Vendor the
	// vendor whose shape it has (openai, chatgpt, anthropic; empty for an
	// alert or a mapped event).
	Source string
	Vendor string
	// Actor is the actor's e-mail address, or its id when it has none;
	// ActorID and ActorEmail are each as the source read them.
	Actor      string
	ActorID    string
	ActorEmail string
	ProjectID  string
	// Alert is set for an alert: its rule, severity and evidence.
	Alert *Alert
	// Fields is the event's JSON object, decoded (numbers as
	// json.Number): {{index .Fields "ip_address"}}. Nil when the event
	// is not a JSON object.
	Fields map[string]any
	// Raw is the event's JSON as delivered.
	Raw string
}

// Alert is what an alert event of the detect transform says.
type Alert struct {
	// Rule is the name of the rule that fired.
	Rule string
	// Severity is the rule's severity (such as low, medium, high).
	Severity string
	// Summary is the alert's one-line description.
	Summary string
	// Evidence are the ids of the events that made the rule fire.
	Evidence []string
	// Actor is who the evidence's events were by (an e-mail address
	// when known), IP the address they came from, when the rule reads
	// one.
	Actor string
	IP    string
	// Group is the value the rule groups by, Value the new value of a
	// first-seen rule; empty when the rule has none.
	Group string
	Value string
	// Link points back to the events, when the rule has a link template.
	Link string
}

const (
	defaultSubject = `[auditrelay] {{if .Alerts}}{{len .Alerts}} alert{{if gt (len .Alerts) 1}}s{{end}}: {{join .Rules ", "}}` +
		`{{else}}{{.Count}} event{{if gt .Count 1}}s{{end}}{{with index .Events 0}}: {{.Type}}{{end}}{{if gt .Count 1}} and more{{end}}{{end}}`
	defaultBody = `{{.Count}} event{{if gt .Count 1}}s{{end}} from {{join .Sources ", "}}.
{{range .Events}}
{{if .Alert}}ALERT {{.Alert.Rule}}{{with .Alert.Severity}} (severity {{.}}){{end}}
{{with .Alert.Summary}}  {{.}}
{{end}}{{with .Alert.Evidence}}  evidence: {{join . ", "}}
{{end}}{{with .Alert.IP}}  ip:       {{.}}
{{end}}{{with .Alert.Link}}  link:     {{.}}
{{end}}{{else}}{{.Type}}
{{end}}  id:       {{.ID}}
  time:     {{.Time.UTC.Format "2006-01-02 15:04:05 UTC"}}
  actor:    {{or .Actor "-"}}
  source:   {{.Source}}
{{end}}{{if .Attached}}
The events as delivered are attached (events.jsonl).
{{end}}`
)

// maxSubject bounds the subject line (in characters) so that a mail of
// many rules still has a readable one.
const maxSubject = 200

// funcs are the functions the templates may call besides text/template's.
var funcs = template.FuncMap{"join": strings.Join}

// templates are the parsed subject and body.
type templates struct {
	subject, body *template.Template
}

// parseTemplates parses subject and body (empty: the built-in ones) and
// executes them once with a sample mail, so that a field that does not
// exist is found when the config is loaded; errors name their key.
func parseTemplates(subject, body string) (*templates, error) {
	t := &templates{}
	var errs []error
	for _, p := range []struct {
		key, text, def string
		into           **template.Template
	}{{"subject", subject, defaultSubject, &t.subject}, {"body", body, defaultBody, &t.body}} {
		text := p.text
		if strings.TrimSpace(text) == "" {
			text = p.def
		}
		tm, err := template.New(p.key).Funcs(funcs).Option("missingkey=zero").Parse(text)
		if err == nil {
			err = tm.Execute(new(bytes.Buffer), sampleMail())
		}
		if err != nil {
			errs = append(errs, pipeline.FieldError(p.key, "template: %v", err))
			continue
		}
		*p.into = tm
	}
	return t, errors.Join(errs...)
}

// sampleMail is an alert and a plain event, to try the templates on.
func sampleMail() Mail {
	t := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	alert := pipeline.Event{ID: "alert-1", Type: AlertType, Time: t, Source: "acme",
		Raw: []byte(`{"id":"alert-1","type":"auditrelay.alert","rule":"admin-key-created","severity":"high","summary":"an admin key was created",` +
			`"evidence":{"event_ids":["audit_log-1"],"actor_email":"ada@example.com","ip":"192.0.2.1","types":["api_key.created"]}}`)}
	ev := pipeline.Event{ID: "audit_log-1", Type: "api_key.created", Time: t, Source: "acme", Schema: "openai.audit_log",
		ActorEmail: "ada@example.com", Raw: []byte(`{"id":"audit_log-1","type":"api_key.created"}`)}
	return mailData([]item{{source: "acme", ev: alert}, {source: "acme", ev: ev}}, true)
}

// item is one event held by a mail: a copy, since the batch it came in
// is not the sink's after Consume.
type item struct {
	source string
	ev     pipeline.Event
}

// mailData is the template data of items.
func mailData(items []item, attached bool) Mail {
	m := Mail{Count: len(items), Attached: attached}
	for _, it := range items {
		e := eventData(&it.ev)
		e.Source = it.source
		m.Events = append(m.Events, e)
		if e.Alert != nil {
			m.Alerts = append(m.Alerts, e)
			if e.Alert.Rule != "" && !slices.Contains(m.Rules, e.Alert.Rule) {
				m.Rules = append(m.Rules, e.Alert.Rule)
			}
		}
		if !slices.Contains(m.Sources, it.source) {
			m.Sources = append(m.Sources, it.source)
		}
	}
	slices.Sort(m.Sources)
	return m
}

func eventData(ev *pipeline.Event) Event {
	e := Event{Type: ev.Type, ID: ev.ID, Time: ev.Time, Source: ev.Source, Vendor: ev.Vendor(),
		Actor: ev.ActorEmail, ActorID: ev.ActorID, ActorEmail: ev.ActorEmail, ProjectID: ev.ProjectID, Raw: string(ev.Raw)}
	if e.Actor == "" {
		e.Actor = ev.ActorID
	}
	dec := json.NewDecoder(bytes.NewReader(ev.Raw))
	dec.UseNumber()
	var obj map[string]any
	if dec.Decode(&obj) == nil {
		e.Fields = obj
	}
	if ev.Type == AlertType {
		e.Alert = alertOf(obj)
		if e.Actor == "" {
			e.Actor = e.Alert.Actor
		}
	}
	return e
}

// alertOf reads an alert's fields from its object (transform/detect's
// Alert); a field it lacks stays empty.
func alertOf(obj map[string]any) *Alert {
	a := &Alert{Rule: text(obj["rule"]), Severity: text(obj["severity"]), Summary: text(obj["summary"]),
		Group: text(obj["group"]), Value: text(obj["value"]), Link: text(obj["link"])}
	ev, _ := obj["evidence"].(map[string]any)
	a.Actor, a.IP = text(ev["actor_email"]), text(ev["ip"])
	if a.Actor == "" {
		a.Actor = text(ev["actor"])
	}
	ids, _ := ev["event_ids"].([]any)
	for _, v := range ids {
		if id := text(v); id != "" {
			a.Evidence = append(a.Evidence, id)
		}
	}
	return a
}

// text returns v when it is a string, "" otherwise.
func text(v any) string {
	s, _ := v.(string)
	return s
}

// render executes the templates for data. A template that fails on these
// events (an index out of range, a field of the wrong kind) falls back to
// the built-in one, so that the events are still mailed; the error is
// returned to be logged.
func (t *templates) render(data Mail) (subject, body string, err error) {
	var errs []error
	exec := func(tm *template.Template, def string) string {
		var b strings.Builder
		err := tm.Execute(&b, data)
		if err == nil {
			return b.String()
		}
		errs = append(errs, err)
		b.Reset()
		_ = template.Must(template.New("default").Funcs(funcs).Parse(def)).Execute(&b, data)
		return b.String()
	}
	subject = oneLine(exec(t.subject, defaultSubject))
	body = exec(t.body, defaultBody)
	return subject, body, errors.Join(errs...)
}

// oneLine folds s into one line of at most maxSubject characters.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxSubject {
		s = string(r[:maxSubject-1]) + "…"
	}
	return s
}

// messageID is the Message-ID of a mail of items: the same events give the
// same id, so a mail sent again after a crash can be recognised as the
// same one. Its domain is the sender's.
func messageID(items []item, from string) string {
	h := sha256.New()
	for _, it := range items {
		fmt.Fprintf(h, "%s\x00%s\x00", it.source, it.ev.ID)
	}
	domain := "auditrelay.invalid"
	if a, err := mail.ParseAddress(from); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok && d != "" {
			domain = d
		}
	}
	return "auditrelay." + hex.EncodeToString(h.Sum(nil)[:16]) + "@" + domain
}

// message builds the MIME message of a mail: From, To, Cc, the encoded
// subject, Date, Message-ID, Auto-Submitted, the UTF-8 body
// (quoted-printable) and, with attach_events, the events as delivered.
func (s *Sink) message(items []item) (*gomail.Msg, error) {
	data := mailData(items, s.cfg.AttachEvents)
	subject, body, terr := s.tmpl.render(data)
	if terr != nil {
		s.log.Warn("a mail template failed on these events; the built-in one was used", "err", terr)
	}
	m := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingQP), gomail.WithNoDefaultUserAgent())
	if err := m.From(s.cfg.From); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := m.To(s.cfg.To...); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	if len(s.cfg.Cc) > 0 {
		if err := m.Cc(s.cfg.Cc...); err != nil {
			return nil, fmt.Errorf("cc: %w", err)
		}
	}
	m.Subject(subject)
	m.SetDateWithValue(s.now())
	m.SetMessageIDWithValue(messageID(items, s.cfg.From))
	// RFC 3834: no out-of-office answers to an automatic mail.
	m.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	m.SetGenHeader(gomail.HeaderXMailer, "auditrelay")
	m.SetBodyString(gomail.TypeTextPlain, body)
	if s.cfg.AttachEvents {
		var jsonl bytes.Buffer
		for _, it := range items {
			jsonl.Write(it.ev.Raw)
			jsonl.WriteByte('\n')
		}
		if err := m.AttachReader("events.jsonl", &jsonl, gomail.WithFileContentType("application/x-ndjson")); err != nil {
			return nil, fmt.Errorf("attaching the events: %w", err)
		}
	}
	return m, nil
}
