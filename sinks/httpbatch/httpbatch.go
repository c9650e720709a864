package httpbatch

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/config/tlsconfig"
	"github.com/auditrelay/auditrelay/internal/retryafter"
	"github.com/auditrelay/auditrelay/pipeline"
)

// Item is one event of a batch and its part of a request body.
type Item struct {
	Event *pipeline.Event
	Data  []byte
}

// Response is an answer of the destination.
type Response struct {
	Status int
	Header http.Header
	// Body is the start of the answer's body, at most 64 KiB.
	Body []byte
}

// RefusedError is what a Check returns, wrapped in pipeline.Permanent, for
// an answer that refuses one event of the request for its content (Splunk
// HEC's invalid-event-number). Send gives that event back as a rejection
// and goes on with the events after it, and with those before it too
// unless Taken says the destination kept them.
type RefusedError struct {
	Index  int // of the event in the request
	Reason string
	Taken  bool
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("event %d of the request refused: %s", e.Index, e.Reason)
}

// Sender posts batches to one URL. Its fields are set before Start and
// not changed afterwards; it is then safe for concurrent use.
type Sender struct {
	URL string
	// TLS and Timeout (of each request) configure the client; Log
	// receives the TLS warnings.
	TLS     tlsconfig.Config
	Timeout time.Duration
	Log     *slog.Logger
	// Header is set on every request, over Content-Type: application/json
	// and User-Agent: auditrelay.
	Header http.Header
	// Sign, when set, adds the headers computed from each body as sent (an
	// HMAC signature).
	Sign func(h http.Header, body []byte)
	// Gzip compresses every body (Content-Encoding: gzip).
	Gzip bool
	// MaxEvents bounds the events of a request (0: no bound).
	MaxEvents int
	// MaxBytes bounds a request body before compression (0: no bound). An
	// event larger than that goes alone; a sink that must not send it
	// leaves it out of Send.
	MaxBytes int
	// Open, Sep and Close frame a body: Open, the items' Data separated by
	// Sep, Close. MaxBytes counts these bytes exactly.
	Open, Sep, Close string
	// Body, when set, makes a body of the items instead of the framing (a
	// chat message that summarises them); MaxBytes then bounds only what
	// the items' Data and the framing measure.
	Body func(items []Item) []byte
	// Check, when set, reads every answer after the common classification
	// and returns the error to use instead of err (nil for 2xx): what the
	// destination's own reply says about a refusal, a *RefusedError.
	Check func(r *Response, err error) error

	client *http.Client
}

// ConfigErrors reports the problems of the keys of a sink's config that
// configure its Sender's client, each naming its key: compression (gzip or
// none), tls and timeout.
func ConfigErrors(compression string, tls *tlsconfig.Config, timeout time.Duration) []error {
	var errs []error
	if compression != "gzip" && compression != "none" {
		errs = append(errs, pipeline.FieldError("compression", "must be gzip or none, got %q", compression))
	}
	errs = append(errs, pipeline.SectionErrors("tls", tls.Validate())...)
	if timeout <= 0 {
		errs = append(errs, pipeline.FieldError("timeout", "must be > 0"))
	}
	return errs
}

// URLError reports raw, the value of key, unless it is an http or https
// URL with a host (nil then, which errors.Join drops). It does not quote
// raw: a URL may hold a token.
func URLError(key, raw string) error {
	if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return pipeline.FieldError(key, "must be an http:// or https:// URL")
	}
	return nil
}

// Start builds the HTTP client (see tlsconfig.HTTPTransport). It follows
// no redirect: one would carry the sink's credentials (an API key header,
// a signed body) wherever the answer points, so the 3xx answer is a
// permanent error instead. It does not connect.
func (s *Sender) Start() error {
	client, err := s.TLS.HTTPClient(s.Log, s.Timeout)
	s.client = client
	return err
}

// Shutdown closes idle connections. Safe without Start and twice.
func (s *Sender) Shutdown() error {
	if s.client != nil {
		s.client.CloseIdleConnections()
	}
	return nil
}

// Send posts items in requests of at most MaxEvents events and MaxBytes,
// one after the other, in order. A request refused with 413 is sent again
// in halves (and later ones no larger) until an event refused alone comes
// back in rejected with the reason. taken holds the answers of the
// requests the destination took. err is the first error of a request
// (what was sent before it stays taken): Send neither retries nor waits.
// It blocks until then; ctx cancels the request in flight.
func (s *Sender) Send(ctx context.Context, items []Item) (taken []*Response, rejected []pipeline.Rejection, err error) {
	limit := s.MaxEvents
	for len(items) > 0 {
		n, size := s.cut(items, limit)
		r, err := s.Post(ctx, s.body(items[:n], size))
		var ref *RefusedError
		switch {
		case r != nil && r.Status == http.StatusRequestEntityTooLarge && n > 1:
			limit = n / 2
			continue
		case r != nil && r.Status == http.StatusRequestEntityTooLarge:
			rejected = append(rejected, pipeline.Rejection{Event: *items[0].Event,
				Reason: "refused as too large even alone: " + describe(r)})
		case errors.As(err, &ref) && ref.Index >= 0 && ref.Index < n:
			rejected = append(rejected, pipeline.Rejection{Event: *items[ref.Index].Event, Reason: ref.Reason})
			if !ref.Taken {
				items = slices.Concat(items[:ref.Index], items[ref.Index+1:])
				continue
			}
			n = ref.Index + 1
		case err != nil:
			return taken, rejected, fmt.Errorf("posting %d events: %w", n, err)
		default:
			taken = append(taken, r)
		}
		items = items[n:]
	}
	return taken, rejected, nil
}

// cut returns how many of the first items make a request (at least one,
// at most limit unless it is 0), and the size of its framed body.
func (s *Sender) cut(items []Item, limit int) (n, size int) {
	size = len(s.Open) + len(s.Close)
	for n < len(items) && (limit <= 0 || n < limit) {
		next := size + len(items[n].Data)
		if n > 0 {
			next += len(s.Sep)
		}
		if n > 0 && s.MaxBytes > 0 && next > s.MaxBytes {
			break
		}
		n, size = n+1, next
	}
	return n, size
}

func (s *Sender) body(items []Item, size int) []byte {
	if s.Body != nil {
		return s.Body(items)
	}
	b := make([]byte, 0, size)
	b = append(b, s.Open...)
	for i, it := range items {
		if i > 0 {
			b = append(b, s.Sep...)
		}
		b = append(b, it.Data...)
	}
	return append(b, s.Close...)
}

// Post sends one body and returns the answer, if any, and its
// classification (see the package doc, then Check). A transport failure
// is retryable and does not name the URL, which may hold a token; when ctx
// is done Post returns ctx.Err().
func (s *Sender) Post(ctx context.Context, body []byte) (*Response, error) {
	if s.client == nil {
		return nil, pipeline.Permanent(errors.New("not started"))
	}
	h := http.Header{"Content-Type": {"application/json"}, "User-Agent": {"auditrelay"}}
	maps.Copy(h, s.Header)
	if s.Gzip {
		var z bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
		_, _ = zw.Write(body)
		_ = zw.Close()
		body = z.Bytes()
		h.Set("Content-Encoding", "gzip")
	}
	if s.Sign != nil {
		s.Sign(h, body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return nil, pipeline.Permanent(redact(err))
	}
	req.Header = h
	resp, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, redact(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	r := &Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
	err = classify(r)
	if s.Check != nil {
		err = s.Check(r, err)
	}
	return r, err
}

func classify(r *Response) error {
	st := r.Status
	if st >= 200 && st < 300 {
		return nil
	}
	err := errors.New(describe(r))
	switch {
	case st == http.StatusRequestTimeout || st == http.StatusTooManyRequests || st >= 500:
		if d, ok := retryafter.Parse(r.Header.Get("Retry-After"), time.Now()); ok {
			return pipeline.RetryAfter(err, d)
		}
		return err
	case st >= 300 && st < 400:
		return pipeline.Permanent(fmt.Errorf("%w (a redirect is not followed: set the URL it points to)", err))
	}
	return pipeline.Permanent(err)
}

// describe returns the status and the start of the body of r.
func describe(r *Response) string {
	msg := strings.TrimSpace(string(r.Body))
	if len(msg) > 256 {
		msg = strings.ToValidUTF8(msg[:256], "") + "…"
	}
	return strings.TrimSuffix(fmt.Sprintf("HTTP %d: %s", r.Status, msg), ": ")
}

// redact drops the URL from an error of net/http: it may hold a token.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
