package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/auditrelay/auditrelay/internal/rawjson"
	"github.com/auditrelay/auditrelay/internal/retryafter"
	"github.com/auditrelay/auditrelay/pipeline"
)

// maxBody bounds one response body (100 events of a few KiB each fit
// comfortably; a larger body is a broken server, not a page).
const maxBody = 64 << 20

// ClientConfig configures a Client.
type ClientConfig struct {
	// BaseURL is the API root, e.g. https://api.openai.com/v1.
	BaseURL string
	// APIKey is the Admin API key, sent as a bearer token.
	APIKey pipeline.Secret
	// Timeout bounds one HTTP request, body included.
	Timeout time.Duration
	// MaxRetries is how many times one request is retried.
	MaxRetries int
	// RetryWaitMin and RetryWaitMax bound the exponential backoff. A
	// server's Retry-After is honoured up to MaxServerWait.
	RetryWaitMin, RetryWaitMax, MaxServerWait time.Duration
	// Name labels telemetry and logs (the source name).
	Name      string
	Logger    *slog.Logger
	Telemetry pipeline.Telemetry
	// Transport replaces the HTTP transport (tests).
	Transport http.RoundTripper
	// UserAgent is sent with every request.
	UserAgent string
}

// Client talks to OpenAI's Admin API: one retry layer
// (go-retryablehttp) that retries transport errors, 408, 409, 429, 5xx and
// pages that are not valid JSON, honours Retry-After-Ms, Retry-After
// (seconds or HTTP date) and x-should-retry, and turns 401/403/404 into
// permanent errors a person understands. Safe for concurrent use.
type Client struct {
	base string
	key  pipeline.Secret
	ua   string
	name string
	log  *slog.Logger
	tel  pipeline.Telemetry
	http *retryablehttp.Client
	maxW time.Duration
}

// APIError is an error response of the API.
type APIError struct {
	Status    int
	Type      string
	Code      string
	Param     string
	Message   string
	RequestID string
}

func (e *APIError) Error() string {
	var b strings.Builder
	switch e.Status {
	case http.StatusUnauthorized:
		b.WriteString("the admin key was refused (401): check api_key; it must be an Admin API key of the organization (sk-admin-...)")
	case http.StatusForbidden:
		b.WriteString("the admin key is not allowed to read this (403): the key must belong to an organization owner, and audit logging must be switched on in the organization settings")
	case http.StatusNotFound:
		b.WriteString("not found (404): check base_url (it must end in /v1)")
	default:
		fmt.Fprintf(&b, "HTTP %d", e.Status)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, "; API says: %s", e.Message)
	}
	if e.Param != "" {
		fmt.Fprintf(&b, " (param %s)", e.Param)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " [x-request-id %s]", e.RequestID)
	}
	return b.String()
}

// GarbledError reports a 2xx response whose body is not the expected JSON.
type GarbledError struct {
	Err       error
	RequestID string
}

func (e *GarbledError) Error() string {
	s := "response is not a valid page: " + e.Err.Error()
	if e.RequestID != "" {
		s += " [x-request-id " + e.RequestID + "]"
	}
	return s
}
func (e *GarbledError) Unwrap() error { return e.Err }

// NewClient returns a client for cfg.
func NewClient(cfg ClientConfig) *Client {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tel := cfg.Telemetry
	if tel == nil {
		tel = pipeline.NopTelemetry{}
	}
	transport := cfg.Transport
	if transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 16
		transport = t
	}
	c := &Client{
		base: strings.TrimRight(cfg.BaseURL, "/"),
		key:  cfg.APIKey,
		ua:   cfg.UserAgent,
		name: cfg.Name,
		log:  log,
		tel:  tel,
		maxW: cfg.MaxServerWait,
	}
	if c.maxW <= 0 {
		c.maxW = 5 * time.Minute
	}
	rc := &retryablehttp.Client{
		HTTPClient:   &http.Client{Timeout: cfg.Timeout, Transport: &measured{next: transport, c: c}},
		Logger:       nil, // we log retries ourselves, without URLs' query noise
		RetryWaitMin: cfg.RetryWaitMin,
		RetryWaitMax: cfg.RetryWaitMax,
		RetryMax:     cfg.MaxRetries,
		CheckRetry:   c.checkRetry,
		Backoff:      c.backoff,
		ErrorHandler: c.giveUp,
	}
	if rc.RetryWaitMin <= 0 {
		rc.RetryWaitMin = 500 * time.Millisecond
	}
	if rc.RetryWaitMax <= 0 {
		rc.RetryWaitMax = 30 * time.Second
	}
	c.http = rc
	return c
}

// measured records every attempt's status and latency.
type measured struct {
	next http.RoundTripper
	c    *Client
}

func (m *measured) RoundTrip(r *http.Request) (*http.Response, error) {
	t0 := time.Now()
	resp, err := m.next.RoundTrip(r)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	m.c.tel.PageFetched(m.c.name, status, time.Since(t0))
	return resp, err
}

func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		var apiErr *APIError
		if errors.As(err, &apiErr) {
			return false, err
		}
		var g *GarbledError
		if errors.As(err, &g) {
			return true, nil
		}
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	switch resp.Header.Get("x-should-retry") {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	s := resp.StatusCode
	return s == http.StatusRequestTimeout || s == http.StatusConflict || s == http.StatusTooManyRequests ||
		(s >= 500 && s != http.StatusNotImplemented), nil
}

// serverWait reads Retry-After-Ms, then Retry-After (seconds or HTTP date).
func serverWait(h http.Header, now time.Time) (time.Duration, bool) {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 && ms < 1e12 { // NaN and +Inf fail too
			return time.Duration(ms * float64(time.Millisecond)), true
		}
	}
	return retryafter.Parse(h.Get("Retry-After"), now)
}

func (c *Client) backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	reason := "transport"
	var wait time.Duration
	if resp != nil {
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			reason = "429"
		case resp.StatusCode >= 500:
			reason = "5xx"
		case resp.StatusCode < 300:
			reason = "garbled"
		default:
			reason = strconv.Itoa(resp.StatusCode)
		}
		if d, ok := serverWait(resp.Header, time.Now()); ok {
			wait = min(d, c.maxW)
		}
	}
	if wait == 0 {
		d := float64(lo) * float64(uint64(1)<<min(attempt, 30))
		d = min(d, float64(hi))
		// Jitter in [d/2, d): spreads the retries of many sources.
		wait = time.Duration(d/2 + rand.Float64()*d/2)
	}
	c.tel.Retried(c.name, reason, wait)
	c.log.Debug("retrying request", "reason", reason, "attempt", attempt+1, "wait", wait)
	return wait
}

// giveUp turns the last failed attempt into an error.
func (c *Client) giveUp(resp *http.Response, err error, tries int) (*http.Response, error) {
	if resp != nil && resp.Body != nil {
		defer resp.Body.Close()
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		if apiErr.Status == 401 || apiErr.Status == 403 || apiErr.Status == 404 || (apiErr.Status >= 400 && apiErr.Status < 500 && apiErr.Status != 408 && apiErr.Status != 409 && apiErr.Status != 429) {
			return nil, pipeline.Permanent(err)
		}
		return nil, err
	}
	if err == nil && resp != nil {
		err = readAPIError(resp)
	}
	if err == nil {
		err = errors.New("request failed")
	}
	return nil, fmt.Errorf("giving up after %d attempt(s): %w", tries, err)
}

func readAPIError(resp *http.Response) *APIError {
	e := &APIError{Status: resp.StatusCode, RequestID: resp.Header.Get("x-request-id")}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var env struct {
		Error struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Param   any    `json:"param"`
			Code    any    `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil {
		e.Message, e.Type = env.Error.Message, env.Error.Type
		if env.Error.Param != nil {
			e.Param = fmt.Sprint(env.Error.Param)
		}
		if env.Error.Code != nil {
			e.Code = fmt.Sprint(env.Error.Code)
		}
	}
	return e
}

// bodyBuffers recycles response bodies: a page is decoded into copies of
// its events, so its buffer is free as soon as decode returns. decode must
// not keep body.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Get fetches path?query and hands the body of a 2xx response to decode.
// decode must not keep body after it returns. An error from decode makes the attempt count as failed and retried
// (garbled page); after the last retry Get returns it. decode may be called
// several times and must start afresh each time.
func (c *Client) Get(ctx context.Context, path string, query url.Values, decode func(body []byte) error) error {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return pipeline.Permanent(fmt.Errorf("building request: %w", err))
	}
	req.Header.Set("Authorization", "Bearer "+c.key.Value())
	req.Header.Set("Accept", "application/json")
	if c.ua != "" {
		req.Header.Set("User-Agent", c.ua)
	}
	req.SetResponseHandler(func(resp *http.Response) error {
		defer resp.Body.Close()
		if resp.StatusCode >= 300 {
			return readAPIError(resp)
		}
		buf := bodyBuffers.Get().(*bytes.Buffer)
		defer bodyBuffers.Put(buf)
		buf.Reset()
		if n := resp.ContentLength; n > 0 && n <= maxBody {
			buf.Grow(int(n) + bytes.MinRead)
		}
		if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxBody+1)); err != nil {
			return err // transport error while reading: retried
		}
		body := buf.Bytes()
		if len(body) > maxBody {
			return &GarbledError{Err: fmt.Errorf("body larger than %d bytes", maxBody), RequestID: resp.Header.Get("x-request-id")}
		}
		if err := decode(body); err != nil {
			return &GarbledError{Err: err, RequestID: resp.Header.Get("x-request-id")}
		}
		return nil
	})
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("GET %s: %w", path, err)
	}
	resp.Body.Close()
	return nil
}

// ListEnvelope is the list object every Admin API list endpoint returns.
type ListEnvelope struct {
	Object  string            `json:"object"`
	Data    []json.RawMessage `json:"data"`
	FirstID *string           `json:"first_id"`
	LastID  *string           `json:"last_id"`
	HasMore *bool             `json:"has_more"`
}

// DecodeList parses and checks a list page: object "list", data an array,
// has_more present, and a last_id whenever has_more is true (the cursor for
// the next page).
//
// The elements of Data are copies: body may be reused once DecodeList
// returns.
func DecodeList(body []byte) (*ListEnvelope, error) {
	env, ok := decodeListFast(body)
	if !ok {
		// Whatever the fast path does not take, encoding/json decides:
		// it also refuses trailing data after the object.
		env = new(ListEnvelope)
		if err := json.Unmarshal(body, env); err != nil {
			return nil, err
		}
	}
	if env.Object != "list" {
		return nil, fmt.Errorf("object is %q, want \"list\"", env.Object)
	}
	if env.Data == nil {
		return nil, errors.New("data is missing or not an array")
	}
	if env.HasMore == nil {
		return nil, errors.New("has_more is missing")
	}
	return env, nil
}

// listKeys are the members of a list page DecodeList reads, in the order
// of decodeListFast's indexes.
var listKeys = [...]string{"object", "data", "first_id", "last_id", "has_more"}

// decodeListFast decodes a page as json.Unmarshal into a ListEnvelope
// does, in one walk of the page (encoding/json validates it, then decodes
// it, then copies every element on its own): the elements are copied
// together in one block. ok is false for anything unusual that
// encoding/json may read in its own way (a key that matches a field only
// without regard to case, a key given twice, a member of the wrong type,
// nesting past rawjson's limit, invalid JSON); DecodeList then asks
// encoding/json. FuzzDecodeList holds the two to the same result.
func decodeListFast(body []byte) (*ListEnvelope, bool) {
	var spans [len(listKeys)]rawjson.Span
	var seen [len(listKeys)]bool
	odd := false
	elems, err := rawjson.EachWithElements(body, "data", func(key string, sp rawjson.Span) {
		for j, k := range listKeys {
			switch {
			case key == k:
				odd = odd || seen[j]
				seen[j], spans[j] = true, sp
				return
			case strings.EqualFold(key, k):
				odd = true
				return
			}
		}
	}, make([]rawjson.Span, 0, 100))
	if err != nil || odd {
		return nil, false
	}
	val := func(j int) []byte { return body[spans[j].Start:spans[j].End] }
	// str reads a string member: nil when absent or null, as json.Unmarshal
	// leaves a *string; ok false for any other type.
	str := func(j int) (v *string, ok bool) {
		if !seen[j] || rawjson.IsNull(val(j)) {
			return nil, true
		}
		s, ok := rawjson.Str(val(j))
		return &s, ok
	}
	env := &ListEnvelope{}
	object, ok1 := str(0)
	first, ok2 := str(2)
	last, ok3 := str(3)
	if !ok1 || !ok2 || !ok3 {
		return nil, false
	}
	if object != nil {
		env.Object = *object
	}
	env.FirstID, env.LastID = first, last
	if seen[4] && !rawjson.IsNull(val(4)) {
		switch string(val(4)) {
		case "true", "false":
			more := string(val(4)) == "true"
			env.HasMore = &more
		default:
			return nil, false
		}
	}
	if seen[1] && !rawjson.IsNull(val(1)) {
		data := val(1)
		if data[0] != '[' {
			return nil, false
		}
		// One copy of the array holds every element.
		block := append([]byte(nil), data...)
		env.Data = make([]json.RawMessage, len(elems))
		for i, e := range elems {
			lo, hi := e.Start-spans[1].Start, e.End-spans[1].Start
			env.Data[i] = block[lo:hi:hi]
		}
	}
	return env, true
}
