package splunkhec

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/httpbatch"
)

// Sink posts events to a Splunk HTTP Event Collector. Consume is safe for
// concurrent use; Start and Shutdown follow pipeline.Component.
type Sink struct {
	name   string
	cfg    Config
	send   httpbatch.Sender // to /services/collector/event
	ackURL string
	// meta is the pre-encoded `"host":..[,"sourcetype":..][,"index":..]`
	// (without a configured sourcetype, each event has its vendor's).
	meta   []byte
	fields []byte // pre-encoded configured fields, each `,"k":"v"`
}

var _ pipeline.Sink = (*Sink)(nil)

// New returns a sink for c (already validated). It does not connect.
func New(set pipeline.Settings, c *Config) (*Sink, error) {
	base, err := baseURL(c.Endpoint)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set("Authorization", "Splunk "+c.Token.Value())
	if c.Ack.Enabled {
		h.Set("X-Splunk-Request-Channel", newChannel())
	}
	s := &Sink{name: set.Name, cfg: *c, ackURL: base + "/services/collector/ack"}
	s.send = httpbatch.Sender{URL: base + "/services/collector/event", TLS: c.TLS, Timeout: c.Timeout, Log: set.Log(),
		Header: h, Gzip: c.Compression == "gzip", MaxEvents: c.MaxEvents, MaxBytes: c.MaxBytes, Check: s.check}
	// AppendQuote's error only reports invalid UTF-8, written as U+FFFD.
	s.meta = append(s.meta, `"host":`...)
	s.meta, _ = jsontext.AppendQuote(s.meta, c.Host)
	if c.Sourcetype != "" {
		s.meta = append(s.meta, `,"sourcetype":`...)
		s.meta, _ = jsontext.AppendQuote(s.meta, c.Sourcetype)
	}
	if c.Index != "" {
		s.meta = append(s.meta, `,"index":`...)
		s.meta, _ = jsontext.AppendQuote(s.meta, c.Index)
	}
	for _, k := range slices.Sorted(maps.Keys(c.Fields)) {
		s.fields = append(s.fields, ',')
		s.fields, _ = jsontext.AppendQuote(s.fields, k)
		s.fields = append(s.fields, ':')
		s.fields, _ = jsontext.AppendQuote(s.fields, c.Fields[k])
	}
	return s, nil
}

// newChannel returns a random UUID, the HEC channel of this sink.
func newChannel() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Start builds the HTTP client. It does not contact Splunk (an unreachable
// HEC is a retryable Consume error). ctx is not kept.
func (s *Sink) Start(context.Context) error { return s.send.Start() }

// Shutdown releases idle connections. Safe without Start and twice.
func (s *Sink) Shutdown(context.Context) error { return s.send.Shutdown() }

// Consume posts b in requests of at most max_events events and max_bytes
// (see httpbatch.Sender.Send), then (with ack.enabled) polls until HEC
// reports every request indexed. It blocks; ctx cancels the request or
// poll in flight. It reads b, never modifies or keeps it. Events HEC
// refuses one by one (invalid-event-number, 413 for a lone event) and
// events that are not valid JSON come back in a *pipeline.RejectedError
// once every other event was delivered.
func (s *Sink) Consume(ctx context.Context, b pipeline.Batch) error {
	head := s.head(b.Source)
	items := make([]httpbatch.Item, 0, len(b.Events))
	var rejected []pipeline.Rejection
	for i := range b.Events {
		ev := &b.Events[i]
		// An event that is not JSON would corrupt its whole request.
		if !json.Valid(ev.Raw) {
			rejected = append(rejected, pipeline.Rejection{Event: *ev, Reason: "the event is not valid JSON"})
			continue
		}
		line := make([]byte, 0, len(head)+len(ev.Raw)+96)
		items = append(items, httpbatch.Item{Event: ev, Data: s.appendEvent(line, head, ev)})
	}
	taken, refused, err := s.send.Send(ctx, items)
	if err != nil {
		return fmt.Errorf("splunk_hec sink %q: %w", s.name, err)
	}
	if s.cfg.Ack.Enabled {
		if err := s.waitAcks(ctx, taken); err != nil {
			return fmt.Errorf("splunk_hec sink %q: %w", s.name, err)
		}
	}
	if rejected = append(rejected, refused...); len(rejected) > 0 {
		return &pipeline.RejectedError{Sink: s.name, Rejected: rejected}
	}
	return nil
}

// head returns what follows the time in the envelope of every event of a
// batch of source, up to the indexed fields of the event itself.
func (s *Sink) head(source string) []byte {
	src := s.cfg.Source
	if src == "" {
		src = "auditrelay:" + source
	}
	var head []byte
	head = append(head, `,"source":`...)
	head, _ = jsontext.AppendQuote(head, src)
	head = append(head, ',')
	head = append(head, s.meta...)
	head = append(head, `,"fields":{"auditrelay_source":`...)
	head, _ = jsontext.AppendQuote(head, source)
	return append(head, s.fields...)
}

// appendEvent appends the HEC envelope of ev, one line: the vendor is an
// indexed field and, unless one is configured, names the sourcetype, so
// that every vendor's events are found alike.
func (s *Sink) appendEvent(b, head []byte, ev *pipeline.Event) []byte {
	t := ev.Time
	if t.IsZero() {
		t = ev.ObservedAt
	}
	b = append(b, `{"time":`...)
	b = appendTime(b, t)
	b = append(b, head...)
	vendor := ev.Vendor()
	if vendor != "" {
		b = append(b, `,"auditrelay_vendor":`...)
		b, _ = jsontext.AppendQuote(b, vendor)
	}
	b = append(b, '}')
	if s.cfg.Sourcetype == "" {
		b = append(b, `,"sourcetype":`...)
		b, _ = jsontext.AppendQuote(b, sourcetype(vendor, ev.Schema))
	}
	b = append(b, `,"event":`...)
	b = append(b, ev.Raw...)
	return append(b, "}\n"...)
}

// sourcetype is the sourcetype of an event of vendor and schema when none
// is configured.
func sourcetype(vendor, schema string) string {
	switch {
	case vendor != "":
		return vendor + ":audit"
	case schema != "":
		return "auditrelay:" + schema
	}
	return "auditrelay"
}

// appendTime appends t as epoch seconds with milliseconds.
func appendTime(b []byte, t time.Time) []byte {
	ms := t.UnixMilli()
	b = strconv.AppendInt(b, ms/1000, 10)
	frac := ms % 1000
	if frac < 0 {
		frac = -frac
	}
	b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	return b
}

// reply is HEC's JSON answer.
type reply struct {
	Text    string          `json:"text"`
	Code    int             `json:"code"`
	Invalid *int            `json:"invalid-event-number"`
	AckID   *int64          `json:"ackId"`
	Acks    map[string]bool `json:"acks"`
}

// check reads HEC's reply to a refused request: one event refused for its
// content, a refused token, an unknown index, acknowledgement turned off
// on one side only.
func (s *Sink) check(r *httpbatch.Response, err error) error {
	if r.Status == http.StatusNotFound {
		return fmt.Errorf("%w (POST %s: check endpoint, the HEC base URL)", err, shownURL(s.send.URL))
	}
	if r.Status != http.StatusBadRequest && r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden {
		return err
	}
	var reply reply
	_ = json.Unmarshal(r.Body, &reply)
	switch {
	case r.Status != http.StatusBadRequest:
		return fmt.Errorf("%w (the HEC token was refused)", err)
	case reply.Invalid != nil && slices.Contains([]int{6, 12, 13, 15}, reply.Code):
		// With acknowledgement, the events before it were indexed without
		// an ackId we could poll: they are sent again rather than trusted.
		return pipeline.Permanent(&httpbatch.RefusedError{Index: *reply.Invalid, Taken: !s.cfg.Ack.Enabled,
			Reason: fmt.Sprintf("HEC refused the event: code %d: %s", reply.Code, reply.Text)})
	case reply.Code == 7:
		return fmt.Errorf("%w (check index)", err)
	case reply.Code == 10 || reply.Code == 11 || reply.Code == 14:
		return fmt.Errorf("%w (check ack.enabled and the token's indexer acknowledgement)", err)
	}
	return err
}

// shownURL is raw without user info, query and fragment, which an error
// may show.
func shownURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an invalid URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// waitAcks polls the ack endpoint until the request of every answer in
// taken is indexed, ctx is done or ack.timeout passed (a retryable error:
// the batch is sent again).
func (s *Sink) waitAcks(ctx context.Context, taken []*httpbatch.Response) error {
	pending := map[string]bool{}
	for _, r := range taken {
		var reply reply
		if json.Unmarshal(r.Body, &reply) == nil && reply.AckID != nil {
			pending[strconv.FormatInt(*reply.AckID, 10)] = true
		}
	}
	acks := s.send // the same client and headers, uncompressed
	acks.URL, acks.Gzip = s.ackURL, false
	n, deadline := len(pending), time.Now().Add(s.cfg.Ack.Timeout)
	for len(pending) > 0 {
		body := `{"acks":[` + strings.Join(slices.Collect(maps.Keys(pending)), ",") + "]}"
		r, err := acks.Post(ctx, []byte(body))
		if pipeline.IsPermanent(err) {
			return fmt.Errorf("polling indexer acknowledgement: %w", err)
		}
		if err == nil {
			var reply reply
			_ = json.Unmarshal(r.Body, &reply)
			for k, ok := range reply.Acks {
				if ok {
					delete(pending, k)
				}
			}
			if len(pending) == 0 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("HEC did not acknowledge %d of %d requests within %v (they are sent again)", len(pending), n, s.cfg.Ack.Timeout)
		}
		if err := pipeline.Sleep(ctx, s.cfg.Ack.PollInterval); err != nil {
			return err
		}
	}
	return nil
}
