package openai

import (
	"log/slog"
	"net/http"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/httpapi"
)

// ClientConfig configures a Client.
type ClientConfig struct {
	// BaseURL is the API root, e.g. https://api.openai.com/v1.
	BaseURL string
	// APIKey is the Admin API key, sent as a bearer token.
	APIKey pipeline.Secret
	// Retry bounds one request and its retries (see httpapi.Config).
	httpapi.Retry
	// PageSize, when set, bounds a page's body to what that many events
	// may take (pageBodyPerEvent each); otherwise httpapi's default bound.
	PageSize int
	// Limiter paces the requests of the key; Clock learns the API's clock.
	Limiter *httpapi.Limiter
	Clock   *httpapi.Clock
	// Name labels telemetry and logs (the source name).
	Name      string
	Logger    *slog.Logger
	Telemetry pipeline.Telemetry
	// Tracer traces each request under the window span of its context.
	Tracer pipeline.Tracer
	// Transport replaces the HTTP transport (tests).
	Transport http.RoundTripper
	// UserAgent is sent with every request.
	UserAgent string
}

// pageBodyPerEvent is the body a page may take per event it holds: audit
// events are a few KiB (a certificate's PEM the largest); a page larger
// than this per event is not a page but a broken or hostile answer.
const pageBodyPerEvent = 64 << 10

// Client talks to OpenAI's Admin API through the retrying client of
// package httpapi, reading OpenAI's error answers. Safe for concurrent use.
type Client struct {
	*httpapi.Client
}

// APIError is an error answer of the API.
type APIError = httpapi.APIError

// GarbledError reports a 2xx answer that is not a valid page.
type GarbledError = httpapi.GarbledError

// NewClient returns a client for cfg.
func NewClient(cfg ClientConfig) *Client {
	return &Client{httpapi.NewClient(httpapi.Config{
		BaseURL: cfg.BaseURL, Header: http.Header{"Authorization": {"Bearer " + cfg.APIKey.Value()}},
		Retry: cfg.Retry, MaxBody: httpapi.PageMaxBody(cfg.PageSize, pageBodyPerEvent), ReadError: readError,
		Limiter: cfg.Limiter, Clock: cfg.Clock, Name: cfg.Name, Logger: cfg.Logger, Telemetry: cfg.Telemetry, Tracer: cfg.Tracer,
		Transport: cfg.Transport, UserAgent: cfg.UserAgent,
	})}
}

// readError reads OpenAI's error answer and says what a person should do
// about a refused key or a wrong base URL.
func readError(resp *http.Response) error {
	hint := ""
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		hint = "the admin key was refused (401): check api_key; it must be an Admin API key of the organization (sk-admin-...)"
	case http.StatusForbidden:
		hint = "the admin key is not allowed to read this (403): the key must belong to an organization owner, and audit logging must be switched on in the organization settings"
	case http.StatusNotFound:
		hint = "not found (404): check base_url (it must end in /v1)"
	}
	return httpapi.ReadAPIError(resp, hint)
}
