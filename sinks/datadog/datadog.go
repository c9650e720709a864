package datadog

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/schema/chatgpt"
	"github.com/auditrelay/auditrelay/sinks/httpbatch"
)

// Sink posts events to the Datadog logs intake. Consume is safe for
// concurrent use; Start and Shutdown follow pipeline.Component.
type Sink struct {
	name string
	send httpbatch.Sender
	// source and service are configured ones ("": the event's vendor's).
	source, service, hostname string
	tags                      string
}

var _ pipeline.Sink = (*Sink)(nil)

// New returns a sink for c (already validated). It does not connect.
func New(set pipeline.Settings, c *Config) (*Sink, error) {
	h := http.Header{}
	h.Set("DD-API-KEY", c.APIKey.Value())
	s := &Sink{name: set.Name, tags: strings.Join(c.Tags, ",")}
	s.send = httpbatch.Sender{URL: strings.TrimRight(c.baseURL(), "/") + "/api/v2/logs", TLS: c.TLS, Timeout: c.Timeout, Log: set.Log(),
		Header: h, Gzip: c.Compression == "gzip", MaxEvents: c.MaxEvents, MaxBytes: c.MaxBytes,
		Open: "[", Sep: ",", Close: "]", Check: check}
	s.source, s.service, s.hostname = c.Source, c.Service, c.Hostname
	return s, nil
}

// Start builds the HTTP client; it does not contact Datadog. ctx is not kept.
func (s *Sink) Start(context.Context) error { return s.send.Start() }

// Shutdown releases idle connections. Safe without Start and twice.
func (s *Sink) Shutdown(context.Context) error { return s.send.Shutdown() }

// Consume posts b in requests within the intake's limits (see
// httpbatch.Sender.Send), and returns nil once Datadog took all of them.
// It blocks; ctx cancels the request in flight. It reads b and never
// modifies or keeps it. Entries over 1 MB, and entries refused alone with
// 413, come back in a *pipeline.RejectedError once every other event was
// delivered.
func (s *Sink) Consume(ctx context.Context, b pipeline.Batch) error {
	tags := "auditrelay_source:" + b.Source
	if s.tags != "" {
		tags = s.tags + "," + tags
	}
	// The start of an entry, up to ddtags' value, is the same for every
	// entry of a vendor (a batch is of one source, so nearly always of one
	// vendor).
	headOf := map[string][]byte{}
	items := make([]httpbatch.Item, 0, len(b.Events))
	var rejected []pipeline.Rejection
	for i := range b.Events {
		vendor := b.Events[i].Vendor()
		head, ok := headOf[vendor]
		if !ok {
			head = s.head(vendor, tags)
			headOf[vendor] = head
		}
		e := s.entry(&b.Events[i], head)
		if len(e) > maxEntry {
			rejected = append(rejected, pipeline.Rejection{Event: b.Events[i],
				Reason: fmt.Sprintf("the log entry is %d bytes, over Datadog's %d byte limit (it would be truncated)", len(e), maxEntry)})
			continue
		}
		items = append(items, httpbatch.Item{Event: &b.Events[i], Data: e})
	}
	_, refused, err := s.send.Send(ctx, items)
	if err != nil {
		return fmt.Errorf("datadog sink %q: %w", s.name, err)
	}
	if rejected = append(rejected, refused...); len(rejected) > 0 {
		return &pipeline.RejectedError{Sink: s.name, Rejected: rejected}
	}
	return nil
}

// head encodes the start of an entry of vendor's events: ddsource and
// service (the configured ones, else the vendor), hostname and ddtags
// (tags and the vendor's tag).
func (s *Sink) head(vendor, tags string) []byte {
	name := vendor
	if name == "" {
		name = "auditrelay"
	}
	source, service := cmp.Or(s.source, name), cmp.Or(s.service, name)
	if vendor != "" {
		tags += ",vendor:" + vendor
	}
	h := []byte(`{"ddsource":`)
	h, _ = jsontext.AppendQuote(h, source)
	h = append(h, `,"service":`...)
	h, _ = jsontext.AppendQuote(h, service)
	h = append(h, `,"hostname":`...)
	h, _ = jsontext.AppendQuote(h, s.hostname)
	h = append(h, `,"ddtags":`...)
	h, _ = jsontext.AppendQuote(h, tags)
	return h
}

// entry encodes one log entry: the event's JSON, unchanged, is its message.
// Its type and the person who did it (see person) are Datadog's standard
// attributes evt.name, usr.id and usr.email too, the same for every
// vendor (whose events name the actor each its own way); the vendor is the
// tag vendor.
func (s *Sink) entry(ev *pipeline.Event, head []byte) []byte {
	e := make([]byte, 0, len(head)+len(ev.Raw)+192)
	e = append(e, head...)
	t := ev.Time
	if t.IsZero() {
		t = ev.ObservedAt
	}
	if !t.IsZero() {
		e = append(e, `,"timestamp":`...)
		e = strconv.AppendInt(e, t.UnixMilli(), 10)
	}
	if ev.Type != "" {
		e = append(e, `,"evt":{"name":`...)
		e, _ = jsontext.AppendQuote(e, ev.Type)
		e = append(e, '}')
	}
	if id, email := person(ev); id != "" || email != "" {
		e = append(e, `,"usr":{`...)
		sep := ""
		for _, m := range [][2]string{{"id", id}, {"email", email}} {
			if m[1] != "" {
				e = append(e, sep+`"`+m[0]+`":`...)
				e, _ = jsontext.AppendQuote(e, m[1])
				sep = ","
			}
		}
		e = append(e, '}')
	}
	e = append(e, `,"message":`...)
	// The error only reports invalid UTF-8, which is written as U+FFFD.
	e, _ = jsontext.AppendQuote(e, ev.Raw)
	return append(e, '}')
}

// person is the user the entry's usr.id and usr.email name: the actor the
// source indexed, except for a ChatGPT record an agent did, whose indexed
// actor is the agent and whose e-mail is the person it acted for: usr is
// then that person, id and e-mail alike (the agent stays in the message's
// actor). An API key is usr.id, as every vendor's key is.
func person(ev *pipeline.Event) (id, email string) {
	id, email = ev.ActorID, ev.ActorEmail
	if ev.Schema != chatgpt.Schema {
		return id, email
	}
	if f, err := chatgpt.ReadObject(ev.Raw); err == nil {
		if a := f.Actor(); a.Kind == chatgpt.ActorAgent {
			return a.DelegatorID, email
		}
	}
	return id, email
}

// check names a refused API key, and without a Retry-After reads the
// seconds of Datadog's X-RateLimit-Reset as the delay of a retry.
func check(r *httpbatch.Response, err error) error {
	if r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden {
		return fmt.Errorf("%w (the API key was refused)", err)
	}
	if _, ok := pipeline.RetryDelay(err); ok || err == nil || pipeline.IsPermanent(err) {
		return err
	}
	if s, e := strconv.Atoi(strings.TrimSpace(r.Header.Get("X-RateLimit-Reset"))); e == nil && s >= 0 {
		return pipeline.RetryAfter(err, time.Duration(s)*time.Second)
	}
	return err
}
