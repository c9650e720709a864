package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/httpbatch"
)

// SignatureHeader carries the HMAC signature of the body.
const SignatureHeader = "X-Auditrelay-Signature"

// Sign returns the signature header value of body at t for secret:
// "t=<unix>,v1=<hex HMAC-SHA256(secret, "<unix>.<body>")>".
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a signature header against body, rejecting timestamps
// further than tolerance from now (replays). Receivers in Go can use it.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return errors.New("malformed signature header")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("signature timestamp outside the tolerance")
	}
	want := Sign(secret, time.Unix(sec, 0), body)
	if !hmac.Equal([]byte(want[strings.Index(want, "v1=")+3:]), []byte(sig)) {
		return errors.New("signature mismatch")
	}
	return nil
}

// Sink is the webhook sink. Consume is safe for concurrent use.
type Sink struct {
	name string
	cfg  Config
	send httpbatch.Sender
	now  func() time.Time
}

var _ pipeline.Sink = (*Sink)(nil)

// New returns a sink for cfg (already validated).
func New(set pipeline.Settings, cfg Config) (*Sink, error) {
	h := http.Header{}
	for k, v := range cfg.Headers {
		h.Set(k, v.Value())
	}
	s := &Sink{name: set.Name, cfg: cfg, now: time.Now}
	s.send = httpbatch.Sender{URL: cfg.URL, TLS: cfg.TLS, Timeout: cfg.Timeout, Log: set.Log(), Header: h, MaxEvents: cfg.MaxEvents, Body: s.body,
		Check: func(_ *httpbatch.Response, err error) error {
			if pipeline.IsPermanent(err) {
				return fmt.Errorf("%w (the receiver refused the request; check url, headers and secret)", err)
			}
			return err
		}}
	if cfg.Secret != "" {
		s.send.Sign = func(h http.Header, body []byte) {
			h.Set(SignatureHeader, Sign([]byte(cfg.Secret.Value()), s.now(), body))
		}
	}
	// Unlike the other HTTP sinks it builds its client here: it sends
	// without Start.
	if err := s.send.Start(); err != nil {
		return nil, fmt.Errorf("webhook %q: tls: %w", set.Name, err)
	}
	return s, nil
}

// Start implements pipeline.Component.
func (s *Sink) Start(context.Context) error { return nil }

// Shutdown implements pipeline.Component; it closes idle connections.
func (s *Sink) Shutdown(context.Context) error { return s.send.Shutdown() }

// Match reports whether ev passes the filter.
func (s *Sink) Match(ev *pipeline.Event) bool {
	f := &s.cfg.Filter
	match := func(p string) bool { return pipeline.Match(p, ev.Type) }
	if len(f.EventTypes) > 0 && !slices.ContainsFunc(f.EventTypes, match) {
		return false
	}
	if len(f.Actors) > 0 && !has(f.Actors, ev.ActorID) && !has(f.Actors, ev.ActorEmail) {
		return false
	}
	if len(f.ProjectIDs) > 0 && !has(f.ProjectIDs, ev.ProjectID) {
		return false
	}
	return true
}

func has(list []string, s string) bool { return s != "" && slices.Contains(list, s) }

// Consume posts the matching events of b, MaxEvents per request (see
// httpbatch.Sender.Send), and returns nil once every request was answered
// 2xx. It blocks for the requests; ctx cancels them. It does not modify b.
// A failed request makes the whole batch fail (the runner retries it: the
// receiver may see a request twice and can de-duplicate by event id); an
// event refused alone with 413 comes back in a *pipeline.RejectedError
// once the others were delivered.
func (s *Sink) Consume(ctx context.Context, b pipeline.Batch) error {
	var match []httpbatch.Item
	for i := range b.Events {
		if s.Match(&b.Events[i]) {
			match = append(match, httpbatch.Item{Event: &b.Events[i]})
		}
	}
	_, rejected, err := s.send.Send(ctx, match)
	if err != nil {
		return fmt.Errorf("webhook %q: %w", s.name, err)
	}
	if len(rejected) > 0 {
		return &pipeline.RejectedError{Sink: s.name, Rejected: rejected}
	}
	return nil
}

// body is a request's body: the events' JSON as they are, or a Slack
// message listing them.
func (s *Sink) body(items []httpbatch.Item) []byte {
	var buf bytes.Buffer
	if s.cfg.Format == "slack" {
		var text strings.Builder
		fmt.Fprintf(&text, "auditrelay: %d event(s)", len(items))
		for i, it := range items {
			ev := it.Event
			if i == 20 {
				fmt.Fprintf(&text, "\n… and %d more", len(items)-20)
				break
			}
			actor := ev.ActorEmail
			if actor == "" {
				actor = ev.ActorID
			}
			fmt.Fprintf(&text, "\n• `%s` %s by %s (%s)", ev.Type, ev.Time.UTC().Format(time.RFC3339), orDash(actor), ev.ID)
			if ev.ProjectID != "" {
				fmt.Fprintf(&text, " in %s", ev.ProjectID)
			}
		}
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(map[string]string{"text": text.String()})
		return bytes.TrimRight(buf.Bytes(), "\n")
	}
	buf.WriteString(`{"source":`)
	src, _ := json.Marshal(items[0].Event.Source)
	buf.Write(src)
	buf.WriteString(`,"events":[`)
	for i, it := range items {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(it.Event.Raw)
	}
	buf.WriteString("]}")
	return buf.Bytes()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
