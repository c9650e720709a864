package splunkhec

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/auditrelay/auditrelay/internal/rawjson"
	"github.com/auditrelay/auditrelay/internal/retryafter"
	"github.com/auditrelay/auditrelay/pipeline"
)

// Sink posts events to a Splunk HTTP Event Collector. Consume is safe for
// concurrent use; Start and Shutdown follow pipeline.Component.
type Sink struct {
	name    string
	cfg     Config
	log     *slog.Logger
	url     string
	ackURL  string
	channel string
	client  *http.Client
	auth    string
	// meta is the pre-encoded `"host":..,"sourcetype":..[,"index":..]`.
	meta   []byte
	fields []byte // pre-encoded configured fields, each `,"k":"v"`
	gzips  sync.Pool
}

var _ pipeline.Sink = (*Sink)(nil)

// New returns a sink for c (already validated). It does not connect.
func New(set pipeline.Settings, c *Config) (*Sink, error) {
	log := set.Log()
	base := strings.TrimRight(c.Endpoint, "/")
	s := &Sink{name: set.Name, cfg: *c, log: log,
		url: base + "/services/collector/event", ackURL: base + "/services/collector/ack",
		auth: "Splunk " + c.Token.Value(), channel: newChannel()}
	s.meta = append(s.meta, `"host":`...)
	s.meta = rawjson.AppendString(s.meta, c.Host)
	s.meta = append(s.meta, `,"sourcetype":`...)
	s.meta = rawjson.AppendString(s.meta, c.Sourcetype)
	if c.Index != "" {
		s.meta = append(s.meta, `,"index":`...)
		s.meta = rawjson.AppendString(s.meta, c.Index)
	}
	for _, k := range slices.Sorted(maps.Keys(c.Fields)) {
		s.fields = append(s.fields, ',')
		s.fields = rawjson.AppendString(s.fields, k)
		s.fields = append(s.fields, ':')
		s.fields = rawjson.AppendString(s.fields, c.Fields[k])
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
func (s *Sink) Start(context.Context) error {
	tr, err := s.cfg.TLS.HTTPTransport(s.log)
	if err != nil {
		return fmt.Errorf("splunk_hec sink %q: %w", s.name, err)
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

// Consume posts b in requests of at most max_events events and max_bytes,
// one after the other, then (with ack.enabled) polls until HEC reports
// every request indexed. It blocks; ctx cancels the request or poll in
// flight. It reads b, never modifies or keeps it. Events HEC refuses one
// by one (invalid-event-number, 413 for a lone event) and events that are
// not valid JSON come back in a *pipeline.RejectedError once every other
// event was delivered.
func (s *Sink) Consume(ctx context.Context, b pipeline.Batch) error {
	if len(b.Events) == 0 {
		return nil
	}
	if s.client == nil {
		return pipeline.Permanent(fmt.Errorf("splunk_hec sink %q: not started", s.name))
	}
	source := s.cfg.Source
	if source == "" {
		source = "auditrelay:" + b.Source
	}
	var rejected []pipeline.Rejection
	var acks []int64
	evs := b.Events
	// Drop events that would corrupt the request before sending anything.
	for i := range evs {
		if !json.Valid(evs[i].Raw) {
			rejected = append(rejected, pipeline.Rejection{Event: evs[i], Reason: "the event is not valid JSON"})
		}
	}
	if len(rejected) > 0 {
		kept := make([]pipeline.Event, 0, len(evs)-len(rejected))
		for i := range evs {
			if json.Valid(evs[i].Raw) {
				kept = append(kept, evs[i])
			}
		}
		evs = kept
	}
	limit := s.cfg.MaxEvents
	body := new(bytes.Buffer)
	for len(evs) > 0 {
		n := s.encode(body, source, b.Source, evs, limit)
		res, err := s.post(ctx, s.url, body.Bytes(), true)
		if err != nil {
			return fmt.Errorf("splunk_hec sink %q: posting %d events: %w", s.name, n, err)
		}
		switch {
		case res.status == http.StatusRequestEntityTooLarge && n > 1:
			limit = max(n/2, 1)
			continue
		case res.status == http.StatusRequestEntityTooLarge:
			rejected = append(rejected, pipeline.Rejection{Event: evs[0], Reason: "HEC refused the event as too large (413)"})
			evs = evs[1:]
			continue
		case res.invalid >= 0 && res.invalid < n:
			i := res.invalid
			rejected = append(rejected, pipeline.Rejection{Event: evs[i],
				Reason: fmt.Sprintf("HEC refused the event: code %d: %s", res.Code, res.Text)})
			if s.cfg.Ack.Enabled {
				// Events before it were indexed without an ackId we could
				// poll: send them again rather than trust them.
				rest := make([]pipeline.Event, 0, len(evs)-1)
				rest = append(rest, evs[:i]...)
				evs = append(rest, evs[i+1:]...)
			} else {
				evs = evs[i+1:]
			}
			continue
		}
		if res.invalid >= 0 {
			return pipeline.Permanent(fmt.Errorf("splunk_hec sink %q: HEC refused event number %d of a request of %d: code %d: %s", s.name, res.invalid, n, res.Code, res.Text))
		}
		if res.AckID != nil {
			acks = append(acks, *res.AckID)
		}
		evs = evs[n:]
	}
	if s.cfg.Ack.Enabled && len(acks) > 0 {
		if err := s.waitAcks(ctx, acks); err != nil {
			return fmt.Errorf("splunk_hec sink %q: %w", s.name, err)
		}
	}
	if len(rejected) > 0 {
		return &pipeline.RejectedError{Sink: s.name, Rejected: rejected}
	}
	return nil
}

// encode writes the first events of evs (at most limit, at most MaxBytes
// unless a single event is larger) into buf and returns how many.
func (s *Sink) encode(buf *bytes.Buffer, source, srcName string, evs []pipeline.Event, limit int) int {
	buf.Reset()
	var head []byte
	head = append(head, `,"source":`...)
	head = rawjson.AppendString(head, source)
	head = append(head, ',')
	head = append(head, s.meta...)
	head = append(head, `,"fields":{"auditrelay_source":`...)
	head = rawjson.AppendString(head, srcName)
	head = append(head, s.fields...)
	head = append(head, `},"event":`...)
	var tmp [32]byte
	n := 0
	for n < len(evs) && n < limit {
		ev := &evs[n]
		size := len(ev.Raw) + len(head) + 32
		if n > 0 && buf.Len()+size > s.cfg.MaxBytes {
			break
		}
		t := ev.Time
		if t.IsZero() {
			t = ev.ObservedAt
		}
		buf.WriteString(`{"time":`)
		buf.Write(appendTime(tmp[:0], t))
		buf.Write(head)
		buf.Write(ev.Raw)
		buf.WriteString("}\n")
		n++
	}
	return n
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
	Text    string `json:"text"`
	Code    int    `json:"code"`
	AckID   *int64 `json:"ackId"`
	Acks    map[string]bool
	status  int
	invalid int
}

// post sends body and classifies the answer: it returns an error for
// anything that is neither success, 413 nor a per-event refusal.
func (s *Sink) post(ctx context.Context, url string, body []byte, compress bool) (reply, error) {
	res := reply{invalid: -1}
	if compress && s.cfg.Compression == "gzip" {
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
	} else {
		compress = false
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return res, pipeline.Permanent(err)
	}
	req.Header.Set("Authorization", s.auth)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "auditrelay")
	if compress {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if s.cfg.Ack.Enabled {
		req.Header.Set("X-Splunk-Request-Channel", s.channel)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return res, err // transport: retryable
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	res.status = resp.StatusCode
	var raw struct {
		Text    string          `json:"text"`
		Code    int             `json:"code"`
		AckID   *int64          `json:"ackId"`
		Invalid *int            `json:"invalid-event-number"`
		Acks    map[string]bool `json:"acks"`
	}
	_ = json.Unmarshal(data, &raw)
	res.Text, res.Code, res.AckID, res.Acks = raw.Text, raw.Code, raw.AckID, raw.Acks
	what := fmt.Sprintf("HEC status %d, code %d: %s", resp.StatusCode, raw.Code, raw.Text)
	switch st := resp.StatusCode; {
	case st/100 == 2:
		return res, nil
	case st == http.StatusRequestEntityTooLarge:
		return res, nil
	case st == http.StatusBadRequest:
		switch raw.Code {
		case 6, 12, 13, 15:
			if raw.Invalid != nil {
				res.invalid = *raw.Invalid
				return res, nil
			}
		case 7:
			return res, pipeline.Permanent(fmt.Errorf("%s (check index)", what))
		case 10, 11, 14:
			return res, pipeline.Permanent(fmt.Errorf("%s (check ack.enabled and the token's indexer acknowledgement)", what))
		}
		return res, pipeline.Permanent(errors.New(what))
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		return res, pipeline.Permanent(fmt.Errorf("%s (the HEC token was refused)", what))
	case st == http.StatusTooManyRequests || st >= 500:
		err := errors.New(what)
		if d, ok := retryafter.Parse(resp.Header.Get("Retry-After"), time.Now()); ok {
			return res, pipeline.RetryAfter(err, d)
		}
		return res, err
	}
	return res, pipeline.Permanent(errors.New(what))
}

// waitAcks polls the ack endpoint until every id is indexed, ctx is done or
// ack.timeout passed (a retryable error: the batch is sent again).
func (s *Sink) waitAcks(ctx context.Context, ids []int64) error {
	deadline := time.Now().Add(s.cfg.Ack.Timeout)
	pending := map[string]bool{}
	for _, id := range ids {
		pending[strconv.FormatInt(id, 10)] = true
	}
	for {
		list := make([]int64, 0, len(pending))
		for k := range pending {
			id, _ := strconv.ParseInt(k, 10, 64)
			list = append(list, id)
		}
		body, _ := json.Marshal(map[string][]int64{"acks": list})
		res, err := s.post(ctx, s.ackURL, body, false)
		if err != nil && pipeline.IsPermanent(err) {
			return fmt.Errorf("polling indexer acknowledgement: %w", err)
		}
		if err == nil {
			for k, ok := range res.Acks {
				if ok {
					delete(pending, k)
				}
			}
			if len(pending) == 0 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("HEC did not acknowledge %d of %d requests within %v (they are sent again)", len(pending), len(ids), s.cfg.Ack.Timeout)
		}
		if err := pipeline.Sleep(ctx, s.cfg.Ack.PollInterval); err != nil {
			return err
		}
	}
}
