package openai

import (
	"net/http"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/httpapi"
)

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

// NewClient returns a client of the Admin API with key, bounding a page
// of pageSize events (0: httpapi's default bound). cfg gives the rest
// (base URL, retries, pacing, telemetry); the API's own Header, MaxBody
// and ReadError replace cfg's.
func NewClient(key pipeline.Secret, pageSize int, cfg httpapi.Config) *Client {
	cfg.Header = http.Header{"Authorization": {"Bearer " + key.Value()}}
	cfg.MaxBody = httpapi.PageMaxBody(pageSize, pageBodyPerEvent)
	cfg.ReadError = readError
	return &Client{httpapi.NewClient(cfg)}
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
