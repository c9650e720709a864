package otlp

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/auditrelay/auditrelay/config/tlsconfig"
	"github.com/auditrelay/auditrelay/internal/retryafter"
	"github.com/auditrelay/auditrelay/pipeline"
)

type httpExporter struct {
	url     string
	json    bool
	gzip    bool
	headers map[string]string
	client  *http.Client
	bufs    sync.Pool // *bytes.Buffer
	gz      gzipCompressor
}

func newHTTPExporter(c *Config, tc *tls.Config) (*httpExporter, error) {
	u, err := httpURL(c.Endpoint)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	tr.MaxIdleConnsPerHost = 16
	e := &httpExporter{
		url:     u,
		json:    c.Protocol == ProtocolHTTPJSON,
		gzip:    c.Compression == "gzip",
		headers: map[string]string{},
		client:  &http.Client{Transport: tr, Timeout: c.Timeout, CheckRedirect: tlsconfig.NoRedirect},
	}
	for k, v := range c.Headers {
		e.headers[k] = v.Value()
	}
	return e, nil
}

func (e *httpExporter) close() error {
	e.client.CloseIdleConnections()
	return nil
}

func (e *httpExporter) export(ctx context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	resp := plogotlp.NewExportResponse()
	var body []byte
	var err error
	ctype := "application/x-protobuf"
	if e.json {
		ctype = "application/json"
		body, err = req.MarshalJSON()
	} else {
		body, err = req.MarshalProto()
	}
	if err != nil {
		return resp, pipeline.Permanent(fmt.Errorf("encoding request: %w", err))
	}
	buf, _ := e.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer func() { buf.Reset(); e.bufs.Put(buf) }()
	if e.gzip {
		if err := e.gz.Do(buf, body); err != nil {
			return resp, pipeline.Permanent(fmt.Errorf("compressing request: %w", err))
		}
		body = buf.Bytes()
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return resp, pipeline.Permanent(err)
	}
	hreq.Header.Set("Content-Type", ctype)
	hreq.Header.Set("User-Agent", "auditrelay")
	if e.gzip {
		hreq.Header.Set("Content-Encoding", "gzip")
	}
	for k, v := range e.headers {
		hreq.Header.Set(k, v)
	}
	hresp, err := e.client.Do(hreq)
	if err != nil {
		return resp, err // transport errors are retryable
	}
	defer hresp.Body.Close()
	rbody, err := io.ReadAll(io.LimitReader(hresp.Body, 1<<20))
	if err != nil {
		return resp, fmt.Errorf("reading response: %w", err)
	}
	if hresp.StatusCode/100 == 2 {
		if len(rbody) > 0 {
			if strings.HasPrefix(hresp.Header.Get("Content-Type"), "application/json") {
				err = resp.UnmarshalJSON(rbody)
			} else {
				err = resp.UnmarshalProto(rbody)
			}
			if err != nil {
				// The records were accepted; an unreadable response
				// only loses the partial-success detail.
				return plogotlp.NewExportResponse(), nil
			}
		}
		return resp, nil
	}
	return resp, classifyHTTP(hresp, rbody, time.Now())
}

// classifyHTTP applies the OTLP/HTTP rules: 429, 502, 503 and 504 are
// retryable (honouring Retry-After), every other status is permanent.
func classifyHTTP(r *http.Response, body []byte, now time.Time) error {
	msg := strings.TrimSpace(string(body))
	if len(msg) > 256 || !isText(r.Header.Get("Content-Type")) {
		msg = fmt.Sprintf("%d bytes of %s", len(body), r.Header.Get("Content-Type"))
	}
	err := fmt.Errorf("http status %d: %s", r.StatusCode, msg)
	switch r.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		if d, ok := retryafter.Parse(r.Header.Get("Retry-After"), now); ok {
			return pipeline.RetryAfter(err, d)
		}
		return err
	case http.StatusRequestEntityTooLarge:
		return fmt.Errorf("%w: %w", errTooLarge, err)
	}
	if r.StatusCode/100 == 3 {
		return pipeline.Permanent(fmt.Errorf("%w (a redirect to %q, not followed: set the endpoint it points to)", err, r.Header.Get("Location")))
	}
	return pipeline.Permanent(err)
}

func isText(ctype string) bool {
	return ctype == "" || strings.HasPrefix(ctype, "text/") || strings.HasPrefix(ctype, "application/json")
}
