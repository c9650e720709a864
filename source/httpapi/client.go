package httpapi

import (
	"bytes"
	"cmp"
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
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/auditrelay/auditrelay/config/tlsconfig"
	"github.com/auditrelay/auditrelay/internal/retryafter"
	"github.com/auditrelay/auditrelay/pipeline"
)

// Config configures a Client.
type Config struct {
	// BaseURL is the API root, e.g. https://api.openai.com/v1.
	BaseURL string
	// Header is sent with every request: credentials (which must never
	// appear in a log or an error: the client never prints headers) and
	// versions.
	Header http.Header
	// Retry bounds one request and its retries. The waits left at zero
	// take DefaultRetry's; a zero Timeout bounds nothing, a zero MaxRetries
	// retries nothing.
	Retry
	// MaxBody bounds one response body (default 64 MiB): a larger body is
	// refused before it is read whole, so a hostile or broken server
	// cannot make the process hold more.
	MaxBody int64
	// ReadError turns a response with a status of 300 or more into an
	// error: the vendor's error body and what a person should do. Nil
	// reads a generic *APIError.
	ReadError func(resp *http.Response) error
	// Limiter paces the requests of the API key (shared by the sources
	// that use the key); nil sends them unpaced.
	Limiter *Limiter
	// Clock, when set, learns the API's clock from the Date header of every
	// response.
	Clock *Clock
	// Name labels telemetry and logs (the source name).
	Name      string
	Logger    *slog.Logger
	Telemetry pipeline.Telemetry
	// Tracer traces each request as a child of the window span its
	// context carries (nil: no tracing).
	Tracer pipeline.Tracer
	// Transport replaces the HTTP transport (tests).
	Transport http.RoundTripper
	// UserAgent is sent with every request (default "auditrelay").
	UserAgent string
}

// PageMaxBody is the MaxBody of a client that reads pages of pageSize items
// of at most perItem bytes each, with 64 KiB for what surrounds them; 0
// (the default bound) when pageSize is not set.
func PageMaxBody(pageSize int, perItem int64) int64 {
	if pageSize <= 0 {
		return 0
	}
	return int64(pageSize)*perItem + 64<<10
}

// Client is the one retrying HTTP client of the API sources: one retry layer
// (go-retryablehttp) that retries transport errors, 408, 409, 429, 5xx and
// answers that are not a valid page, honours Retry-After-Ms, Retry-After
// (seconds or HTTP date) and x-should-retry, and turns other 4xx into
// permanent errors. Every attempt goes through the limiter. Safe for
// concurrent use.
type Client struct {
	base    string
	header  http.Header
	ua      string
	name    string
	log     *slog.Logger
	tel     pipeline.Telemetry
	tracer  pipeline.Tracer
	http    *retryablehttp.Client
	maxW    time.Duration
	maxBody int64
	readErr func(*http.Response) error
	clock   *Clock
}

// APIError is an error answer of an API.
type APIError struct {
	Status    int
	Type      string
	Code      string
	Param     string
	Message   string
	RequestID string
	// Hint says what to do about it (a refused key: which key and scope).
	Hint string
}

func (e *APIError) Error() string {
	var b strings.Builder
	if e.Hint != "" {
		b.WriteString(e.Hint)
	} else {
		fmt.Fprintf(&b, "HTTP %d", e.Status)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, "; API says: %s", e.Message)
	}
	if e.Param != "" {
		fmt.Fprintf(&b, " (param %s)", e.Param)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " [request id %s]", e.RequestID)
	}
	return b.String()
}

// GarbledError reports a 2xx answer that is not a valid page.
type GarbledError struct {
	Err       error
	RequestID string
}

func (e *GarbledError) Error() string {
	s := "response is not a valid page: " + e.Err.Error()
	if e.RequestID != "" {
		s += " [request id " + e.RequestID + "]"
	}
	return s
}
func (e *GarbledError) Unwrap() error { return e.Err }

// NewClient returns a client for cfg.
func NewClient(cfg Config) *Client {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tel := cfg.Telemetry
	if tel == nil {
		tel = pipeline.NopTelemetry{}
	}
	def := DefaultRetry()
	transport := cfg.Transport
	if transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		transport = t
	}
	c := &Client{
		base:    strings.TrimRight(cfg.BaseURL, "/"),
		header:  cfg.Header.Clone(),
		ua:      cmp.Or(cfg.UserAgent, "auditrelay"),
		name:    cfg.Name,
		log:     log,
		tel:     tel,
		tracer:  cfg.Tracer,
		maxW:    positiveOr(cfg.MaxServerWait, def.MaxServerWait),
		maxBody: positiveOr(cfg.MaxBody, 64<<20),
		readErr: cfg.ReadError,
		clock:   cfg.Clock,
	}
	if c.readErr == nil {
		c.readErr = func(resp *http.Response) error { return ReadAPIError(resp, "") }
	}
	if c.tracer == nil {
		c.tracer = pipeline.NopTracer{}
	}
	// The timeout bounds each attempt once the limiter let it go: a wait
	// for the API's rate is not the API being slow.
	var rt http.RoundTripper = &measured{next: transport, c: c}
	if cfg.Timeout > 0 {
		rt = timeoutTransport{next: rt, d: cfg.Timeout}
	}
	if cfg.Limiter != nil {
		rt = cfg.Limiter.Transport(rt)
	}
	rt = tracedTransport{next: rt}
	c.http = &retryablehttp.Client{
		HTTPClient:   &http.Client{Transport: rt, CheckRedirect: tlsconfig.NoRedirect},
		Logger:       nil, // we log retries ourselves, without URLs' query noise
		RetryWaitMin: positiveOr(cfg.RetryWaitMin, def.RetryWaitMin),
		RetryWaitMax: positiveOr(cfg.RetryWaitMax, def.RetryWaitMax),
		RetryMax:     cfg.MaxRetries,
		CheckRetry:   c.checkRetry,
		Backoff:      c.backoff,
		ErrorHandler: c.giveUp,
	}
	return c
}

// positiveOr returns v, or def when v is not positive: a setting left at
// zero (or set below it) takes its default.
func positiveOr[T int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// measured records every attempt's status and latency, and the API's clock.
type measured struct {
	next http.RoundTripper
	c    *Client
}

func (m *measured) RoundTrip(r *http.Request) (*http.Response, error) {
	t0 := time.Now()
	rt := traceOf(r.Context())
	if rt != nil {
		rt.sent(t0)
	}
	resp, err := m.next.RoundTrip(r)
	if rt != nil {
		rt.answered(resp, time.Now())
	}
	status := 0
	if resp != nil {
		status = resp.StatusCode
		if m.c.clock != nil {
			m.c.clock.Observe(resp.Header.Get("Date"))
		}
	}
	m.c.tel.PageFetched(m.c.name, status, time.Since(t0))
	return resp, err
}

// timeoutTransport bounds one attempt, its body included.
type timeoutTransport struct {
	next http.RoundTripper
	d    time.Duration
}

func (t timeoutTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(r.Context(), t.d)
	resp, err := t.next.RoundTrip(r.WithContext(ctx))
	if err != nil {
		// Whether the timeout ended it is read before cancel, which would
		// make every failure look like one.
		if ctx.Err() != nil && r.Context().Err() == nil {
			err = fmt.Errorf("no answer within %v (timeout): %w", t.d, err)
		}
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose ends an attempt's timeout once its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
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
		if pipeline.IsPermanent(err) {
			return false, err // a Stream reader that says asking again cannot help
		}
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	switch resp.Header.Get("x-should-retry") {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return retryable(resp.StatusCode), nil
}

// retryable reports whether a status may succeed when asked again.
func retryable(s int) bool {
	return s == http.StatusRequestTimeout || s == http.StatusConflict || s == http.StatusTooManyRequests ||
		(s >= 500 && s != http.StatusNotImplemented)
}

// serverWait is the wait a response asks for: Retry-After-Ms, then
// Retry-After (seconds or an HTTP date, counted from the response's Date
// when it has one: the date is on the server's clock). The retry layer and
// the limiter both read it here.
func serverWait(h http.Header, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 && ms < 1e12 { // NaN and +Inf fail too
			return time.Duration(ms * float64(time.Millisecond)), true
		}
	}
	return retryafter.Parse(h.Get("Retry-After"), serverNow(h, now))
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
	var ue *url.Error
	if errors.As(err, &ue) {
		// A transport error names the URL whole; its query may hold a
		// signature (a signed download URL).
		ue.URL = redacted(ue.URL)
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		if apiErr.Status >= 400 && apiErr.Status < 500 && !retryable(apiErr.Status) {
			return nil, pipeline.Permanent(err)
		}
		return nil, err
	}
	if err == nil && resp != nil {
		err = c.readErr(resp)
		if errors.As(err, &apiErr) && !retryable(apiErr.Status) {
			// x-should-retry: false on an answer that is otherwise
			// retried (a 500 the API says is not transient).
			err = pipeline.Permanent(err)
		}
	}
	if err == nil {
		err = errors.New("request failed")
	}
	return nil, fmt.Errorf("giving up after %d attempt(s): %w", tries, err)
}

// ReadAPIError reads an error answer: OpenAI's and Anthropic's bodies
// ({"error": {"message", "type", "param", "code"}}), the request id
// header, and hint (what a person should do) as given; a redirect, which
// the client does not follow, gets a hint of its own when hint is "".
func ReadAPIError(resp *http.Response, hint string) *APIError {
	if hint == "" && resp.StatusCode >= 300 && resp.StatusCode < 400 {
		hint = fmt.Sprintf("HTTP %d, a redirect to %q, not followed (the request would carry the key there): set base_url to the URL meant",
			resp.StatusCode, resp.Header.Get("Location"))
	}
	e := &APIError{Status: resp.StatusCode, Hint: hint, RequestID: resp.Header.Get("x-request-id")}
	if e.RequestID == "" {
		e.RequestID = resp.Header.Get("request-id")
	}
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

// Get fetches path?query and hands the body of a 2xx answer to decode. An
// error from decode makes the attempt count as failed and retried (a
// garbled page); after the last retry Get returns it. decode may be called
// several times and must start afresh each time; it may keep body (each
// attempt reads into memory of its own, so the events of a page can be
// slices of it, not copies). Get blocks until then; ctx bounds every
// attempt and wait.
func (c *Client) Get(ctx context.Context, path string, query url.Values, decode func(body []byte) error) (err error) {
	ctx, end := c.startRequest(ctx, func() string { return redacted(c.base + path) })
	defer func() { end(err) }()
	rt := traceOf(ctx)
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := c.newRequest(ctx, u)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	req.SetResponseHandler(func(resp *http.Response) (err error) {
		defer resp.Body.Close()
		if rt != nil {
			defer func() { rt.handled(resp.StatusCode, err) }()
		}
		if resp.StatusCode >= 300 {
			return c.readErr(resp)
		}
		rid := resp.Header.Get("x-request-id")
		if resp.ContentLength > c.maxBody {
			return &GarbledError{Err: fmt.Errorf("body of %d bytes is larger than the %d a page may take", resp.ContentLength, c.maxBody), RequestID: rid}
		}
		var buf bytes.Buffer
		if n := resp.ContentLength; n > 0 {
			buf.Grow(int(n) + bytes.MinRead)
		}
		if _, err := buf.ReadFrom(io.LimitReader(resp.Body, c.maxBody+1)); err != nil {
			return err // transport error while reading: retried
		}
		body := buf.Bytes()
		if int64(len(body)) > c.maxBody {
			return &GarbledError{Err: fmt.Errorf("body larger than the %d bytes a page may take", c.maxBody), RequestID: rid}
		}
		if err := decode(body); err != nil {
			return &GarbledError{Err: err, RequestID: rid}
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

// newRequest builds a GET of u with the client's headers.
func (c *Client) newRequest(ctx context.Context, u string) (*retryablehttp.Request, error) {
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, pipeline.Permanent(fmt.Errorf("building request: %w", err))
	}
	for k, vs := range c.header {
		req.Header[k] = vs
	}
	req.Header.Set("User-Agent", c.ua)
	return req, nil
}

// Stream is Get for an answer that Get cannot hold: a body too large for
// memory (an exported file of a gigabyte), or a redirect that the caller
// follows itself, with other headers. It fetches target, a path under the
// base URL with its query or, for a client without a base URL, a whole
// URL, and hands the response of an attempt whose status is 2xx, or a
// redirect (301, 302, 303, 307, 308), to read with its body unread; the
// body is closed when read returns. Other statuses are errors as for Get.
//
// An error from read fails the attempt, which is retried like a garbled
// page (a body cut short, a digest that does not match), unless it is
// permanent (pipeline.Permanent); after the last retry Stream returns it.
// read may be called several times and must start afresh each time.
// MaxBody does not apply: read bounds what it keeps. Stream blocks until
// then; ctx bounds every attempt and wait.
func (c *Client) Stream(ctx context.Context, target string, read func(resp *http.Response) error) (err error) {
	ctx, end := c.startRequest(ctx, func() string { return redacted(c.base + target) })
	defer func() { end(err) }()
	rt := traceOf(ctx)
	req, err := c.newRequest(ctx, c.base+target)
	if err != nil {
		return err
	}
	req.SetResponseHandler(func(resp *http.Response) (err error) {
		defer resp.Body.Close()
		if rt != nil {
			defer func() { rt.handled(resp.StatusCode, err) }()
		}
		switch s := resp.StatusCode; {
		case s < 300, s == http.StatusMovedPermanently, s == http.StatusFound, s == http.StatusSeeOther,
			s == http.StatusTemporaryRedirect, s == http.StatusPermanentRedirect:
			return read(resp)
		}
		return c.readErr(resp)
	})
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("GET %s: %w", redacted(target), err)
	}
	resp.Body.Close()
	return nil
}

// redacted is target without its query, which may hold a signature: a
// signed URL must not appear in a log or an error.
func redacted(target string) string {
	if u, err := url.Parse(target); err == nil {
		u.RawQuery, u.Fragment, u.User = "", "", nil
		return u.String()
	}
	return "(an unreadable URL)"
}
