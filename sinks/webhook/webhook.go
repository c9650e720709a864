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
	"io"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/internal/retryafter"
	"github.com/auditrelay/auditrelay/pipeline"
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
	name   string
	cfg    Config
	log    *slog.Logger
	client *http.Client
	now    func() time.Time
}

var _ pipeline.Sink = (*Sink)(nil)

// New returns a sink for cfg (already validated).
func New(set pipeline.Settings, cfg Config) (*Sink, error) {
	log := set.Log()
	tr, err := cfg.TLS.HTTPTransport(log)
	if err != nil {
		return nil, fmt.Errorf("webhook %q: tls: %w", set.Name, err)
	}
	return &Sink{name: set.Name, cfg: cfg, log: log, now: time.Now,
		client: &http.Client{Timeout: cfg.Timeout, Transport: tr,
			// A redirect could carry the signed body elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}, nil
}

// Start implements pipeline.Component.
func (s *Sink) Start(context.Context) error { return nil }

// Shutdown implements pipeline.Component; it closes idle connections.
func (s *Sink) Shutdown(context.Context) error {
	s.client.CloseIdleConnections()
	return nil
}

// Match reports whether ev passes the filter.
func (s *Sink) Match(ev *pipeline.Event) bool {
	f := &s.cfg.Filter
	if len(f.EventTypes) > 0 {
		ok := false
		for _, p := range f.EventTypes {
			if m, _ := path.Match(p, ev.Type); m {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(f.Actors) > 0 && !has(f.Actors, ev.ActorID) && !has(f.Actors, ev.ActorEmail) {
		return false
	}
	if len(f.ProjectIDs) > 0 && !has(f.ProjectIDs, ev.ProjectID) {
		return false
	}
	return true
}

func has(list []string, s string) bool {
	if s == "" {
		return false
	}
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Consume posts the matching events of b, MaxEvents per request, and
// returns nil once every request was answered 2xx. It blocks for the
// requests; ctx cancels them. It does not modify b. A failed request makes
// the whole batch fail (the runner retries it: the receiver may see a
// request twice and can de-duplicate by event id).
func (s *Sink) Consume(ctx context.Context, b pipeline.Batch) error {
	var match []*pipeline.Event
	for i := range b.Events {
		if s.Match(&b.Events[i]) {
			match = append(match, &b.Events[i])
		}
	}
	for i := 0; i < len(match); i += s.cfg.MaxEvents {
		if err := s.post(ctx, match[i:min(i+s.cfg.MaxEvents, len(match))]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Sink) body(evs []*pipeline.Event) []byte {
	var buf bytes.Buffer
	if s.cfg.Format == "slack" {
		var text strings.Builder
		fmt.Fprintf(&text, "auditrelay: %d event(s)", len(evs))
		for i, ev := range evs {
			if i == 20 {
				fmt.Fprintf(&text, "\n… and %d more", len(evs)-20)
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
	src, _ := json.Marshal(evs[0].Source)
	buf.Write(src)
	buf.WriteString(`,"events":[`)
	for i, ev := range evs {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(ev.Raw)
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

func (s *Sink) post(ctx context.Context, evs []*pipeline.Event) error {
	body := s.body(evs)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return pipeline.Permanent(fmt.Errorf("webhook %q: url: %w", s.name, err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "auditrelay")
	for k, v := range s.cfg.Headers {
		req.Header.Set(k, v.Value())
	}
	if s.cfg.Secret != "" {
		req.Header.Set(SignatureHeader, Sign([]byte(s.cfg.Secret.Value()), s.now(), body))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("webhook %q: %w", s.name, redactURL(err))
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch st := resp.StatusCode; {
	case st >= 200 && st < 300:
		return nil
	case st == http.StatusTooManyRequests || st == http.StatusRequestTimeout || st >= 500:
		err := fmt.Errorf("webhook %q: HTTP %d: %s", s.name, st, strings.TrimSpace(string(msg)))
		if d, ok := retryafter.Parse(resp.Header.Get("Retry-After"), s.now()); ok {
			return pipeline.RetryAfter(err, d)
		}
		return err
	default:
		return pipeline.Permanent(fmt.Errorf("webhook %q: url: HTTP %d (the receiver refused the request; check url, headers and secret): %s", s.name, st, strings.TrimSpace(string(msg))))
	}
}

// redactURL drops the URL from transport errors: it may carry a token.
func redactURL(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}
