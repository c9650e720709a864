package httpapi

import (
	"context"
	"net/http"
	neturl "net/url"
	"strconv"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// reqTrace follows one request of the client (every attempt and wait)
// for its span. Attempts of one request run one after the other, on the
// caller's goroutine, so it needs no lock.
type reqTrace struct {
	span     pipeline.Span
	attempts int
	status   int       // of the last attempt; 0: transport error
	afterHdr bool      // the last answer carried Retry-After(-Ms)
	garbled  bool      // the last 2xx answer was not a valid page
	offered  time.Time // when the current attempt was handed to the limiter
	ended    time.Time // when the last attempt ended (its body read)
	backoff  time.Duration
	limiter  time.Duration
}

type reqTraceKey struct{}

// traceOf returns the reqTrace of a request's context, or nil when the
// request is not traced.
func traceOf(ctx context.Context) *reqTrace {
	rt, _ := ctx.Value(reqTraceKey{}).(*reqTrace)
	return rt
}

// startRequest starts the span of one request (GET of url, without its
// query) as a child of the window span in ctx; it returns the context the
// request runs with and the function that ends the span with the
// request's outcome.
func (c *Client) startRequest(ctx context.Context, url func() string) (context.Context, func(error)) {
	ctx, span := c.tracer.StartClient(ctx, http.MethodGet)
	if !span.Recording() {
		return ctx, span.End
	}
	rt := &reqTrace{span: span}
	full := url()
	span.SetAttributes(pipeline.Attr{Key: "http.request.method", Value: http.MethodGet},
		pipeline.Attr{Key: "url.full", Value: full}, pipeline.Attr{Key: "auditrelay.source", Value: c.name})
	if u, err := neturl.Parse(full); err == nil {
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		n, _ := strconv.Atoi(port)
		span.SetAttributes(pipeline.Attr{Key: "server.address", Value: u.Hostname()}, pipeline.Attr{Key: "server.port", Value: n})
	}
	return context.WithValue(ctx, reqTraceKey{}, rt), func(err error) {
		attrs := []pipeline.Attr{
			{Key: "http.request.resend_count", Value: max(rt.attempts-1, 0)},
			{Key: "auditrelay.retry.wait", Value: rt.backoff},
			{Key: "auditrelay.limiter.wait", Value: rt.limiter},
		}
		if rt.status > 0 {
			attrs = append(attrs, pipeline.Attr{Key: "http.response.status_code", Value: rt.status})
		}
		span.SetAttributes(attrs...)
		span.End(err)
	}
}

// offered marks an attempt handed to the limiter: the time since the last
// attempt ended was the retry's back-off, recorded with why it was waited.
func (rt *reqTrace) offer(now time.Time) {
	rt.offered = now
	if rt.attempts == 0 {
		return
	}
	wait := now.Sub(rt.ended)
	rt.backoff += wait
	reason := "transport"
	switch {
	case rt.garbled:
		reason = "garbled"
	case rt.status == http.StatusTooManyRequests:
		reason = "429"
	case rt.status >= 500:
		reason = "5xx"
	case rt.status > 0:
		reason = strconv.Itoa(rt.status)
	}
	rt.span.AddEvent("retry",
		pipeline.Attr{Key: "auditrelay.retry.reason", Value: reason},
		pipeline.Attr{Key: "auditrelay.retry.wait", Value: wait},
		pipeline.Attr{Key: "auditrelay.retry.server_asked", Value: rt.afterHdr},
		pipeline.Attr{Key: "http.request.resend_count", Value: rt.attempts})
}

// sent marks the attempt let go by the limiter (the wait for the API's
// rate), and answered its outcome.
func (rt *reqTrace) sent(now time.Time) {
	rt.attempts++
	if d := now.Sub(rt.offered); d > 0 && !rt.offered.IsZero() {
		rt.limiter += d
	}
	rt.status, rt.afterHdr, rt.garbled = 0, false, false
}

func (rt *reqTrace) answered(resp *http.Response, now time.Time) {
	rt.ended = now
	if resp != nil {
		rt.status = resp.StatusCode
		rt.afterHdr = resp.Header.Get("Retry-After") != "" || resp.Header.Get("Retry-After-Ms") != ""
	}
}

// tracedTransport is the outermost layer of an attempt: it sees it before
// the limiter does.
type tracedTransport struct{ next http.RoundTripper }

func (t tracedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if rt := traceOf(r.Context()); rt != nil {
		rt.offer(time.Now())
	}
	return t.next.RoundTrip(r)
}

// handled marks the end of an attempt's answer, its body read: a 2xx
// that failed was not a valid page.
func (rt *reqTrace) handled(status int, err error) {
	rt.ended = time.Now()
	rt.garbled = err != nil && status < 300
}
