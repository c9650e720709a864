package datadog

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/auditrelay/auditrelay/internal/rawjson"
	"github.com/auditrelay/auditrelay/internal/retryafter"
	"github.com/auditrelay/auditrelay/pipeline"
)

// Sink posts events to the Datadog logs intake. Consume is safe for
// concurrent use; Start and Shutdown follow pipeline.Component.
type Sink struct {
	name   string
	cfg    Config
	log    *slog.Logger
	url    string
	client *http.Client
	// head is the pre-encoded start of every entry up to ddtags' value.
	head  []byte
	tags  string
	gzips sync.Pool
}

var _ pipeline.Sink = (*Sink)(nil)

// New returns a sink for c (already validated). It does not connect.
func New(set pipeline.Settings, c *Config) (*Sink, error) {
	log := set.Log()
	s := &Sink{name: set.Name, cfg: *c, log: log, url: strings.TrimRight(c.baseURL(), "/") + "/api/v2/logs",
		tags: strings.Join(c.Tags, ",")}
	s.head = append(s.head, `{"ddsource":`...)
	s.head = rawjson.AppendString(s.head, c.Source)
	s.head = append(s.head, `,"service":`...)
	s.head = rawjson.AppendString(s.head, c.Service)
	s.head = append(s.head, `,"hostname":`...)
	s.head = rawjson.AppendString(s.head, c.Hostname)
	return s, nil
}

// Start builds the HTTP client; it does not contact Datadog. ctx is not kept.
func (s *Sink) Start(context.Context) error {
	tr, err := s.cfg.TLS.HTTPTransport(s.log)
	if err != nil {
		return fmt.Errorf("datadog sink %q: %w", s.name, err)
	}
	s.client = &http.Client{Transport: tr, Timeout: s.cfg.Timeout}
	return nil
}

// Shutdown releases idle connections. Safe without Start and twice.
func (s *Sink) Shutdown(context.Context) error {
	if s.client != nil {
		s.client.CloseIdleConnections()
	}
	return nil
}

// Consume posts b in requests within the intake's limits, one after the
// other, and returns nil once Datadog accepted (202) all of them. It
// blocks; ctx cancels the request in flight. It reads b and never modifies
// or keeps it. Entries over 1 MB, and entries refused alone with 413, come
// back in a *pipeline.RejectedError once every other event was delivered.
func (s *Sink) Consume(ctx context.Context, b pipeline.Batch) error {
	if len(b.Events) == 0 {
		return nil
	}
	if s.client == nil {
		return pipeline.Permanent(fmt.Errorf("datadog sink %q: not started", s.name))
	}
	tags := "auditrelay_source:" + b.Source
	if s.tags != "" {
		tags = s.tags + "," + tags
	}
	// The ddtags member is the same for every entry of the batch.
	ddtags := rawjson.AppendString([]byte(`,"ddtags":`), tags)
	// Encode every entry once; reject those Datadog would truncate.
	entries := make([][]byte, 0, len(b.Events))
	kept := make([]int, 0, len(b.Events))
	var rejected []pipeline.Rejection
	for i := range b.Events {
		e := s.entry(&b.Events[i], ddtags)
		if len(e) > maxEntry {
			rejected = append(rejected, pipeline.Rejection{Event: b.Events[i],
				Reason: fmt.Sprintf("the log entry is %d bytes, over Datadog's %d byte limit (it would be truncated)", len(e), maxEntry)})
			continue
		}
		entries = append(entries, e)
		kept = append(kept, i)
	}
	limit := s.cfg.MaxEvents
	var body bytes.Buffer
	for len(entries) > 0 {
		body.Reset()
		body.WriteByte('[')
		n := 0
		for n < len(entries) && n < limit {
			if n > 0 && body.Len()+len(entries[n])+2 > s.cfg.MaxBytes {
				break
			}
			if n > 0 {
				body.WriteByte(',')
			}
			body.Write(entries[n])
			n++
		}
		body.WriteByte(']')
		status, err := s.post(ctx, body.Bytes())
		if err != nil {
			return fmt.Errorf("datadog sink %q: posting %d entries: %w", s.name, n, err)
		}
		if status == http.StatusRequestEntityTooLarge {
			if n > 1 {
				limit = max(n/2, 1)
				continue
			}
			rejected = append(rejected, pipeline.Rejection{Event: b.Events[kept[0]], Reason: "Datadog refused the entry as too large (413)"})
		}
		entries, kept = entries[n:], kept[n:]
	}
	if len(rejected) > 0 {
		return &pipeline.RejectedError{Sink: s.name, Rejected: rejected}
	}
	return nil
}

// entry encodes one log entry: the event's JSON, unchanged, is its message.
func (s *Sink) entry(ev *pipeline.Event, ddtags []byte) []byte {
	e := make([]byte, 0, len(s.head)+len(ev.Raw)+len(ddtags)+96)
	e = append(e, s.head...)
	e = append(e, ddtags...)
	t := ev.Time
	if t.IsZero() {
		t = ev.ObservedAt
	}
	if !t.IsZero() {
		e = append(e, `,"timestamp":`...)
		e = strconv.AppendInt(e, t.UnixMilli(), 10)
	}
	e = append(e, `,"message":`...)
	e = rawjson.AppendString(e, ev.Raw)
	return append(e, '}')
}

// post sends one request. It returns 202/200 or 413 with a nil error, and
// a classified error for everything else.
func (s *Sink) post(ctx context.Context, body []byte) (int, error) {
	compress := s.cfg.Compression == "gzip"
	if compress {
		var zbuf bytes.Buffer
		zw, _ := s.gzips.Get().(*gzip.Writer)
		if zw == nil {
			zw, _ = gzip.NewWriterLevel(&zbuf, gzip.BestSpeed)
		} else {
			zw.Reset(&zbuf)
		}
		_, _ = zw.Write(body)
		_ = zw.Close()
		s.gzips.Put(zw)
		body = zbuf.Bytes()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return 0, pipeline.Permanent(err)
	}
	req.Header.Set("DD-API-KEY", s.cfg.APIKey.Value())
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "auditrelay")
	if compress {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err // transport: retryable
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	st := resp.StatusCode
	if st == http.StatusAccepted || st == http.StatusOK || st == http.StatusRequestEntityTooLarge {
		return st, nil
	}
	msg := strings.TrimSpace(string(data))
	if len(msg) > 256 {
		msg = msg[:256]
	}
	err = fmt.Errorf("datadog status %d: %s", st, msg)
	switch {
	case st == http.StatusRequestTimeout || st == http.StatusTooManyRequests || st >= 500:
		if d, ok := retryAfter(resp.Header, time.Now()); ok {
			return st, pipeline.RetryAfter(err, d)
		}
		return st, err
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		return st, pipeline.Permanent(fmt.Errorf("%w (the API key was refused)", err))
	}
	return st, pipeline.Permanent(err)
}

// retryAfter reads Retry-After (seconds or an HTTP date), then Datadog's
// X-RateLimit-Reset (seconds).
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if d, ok := retryafter.Parse(h.Get("Retry-After"), now); ok {
		return d, true
	}
	if s, err := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Reset"))); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	return 0, false
}
