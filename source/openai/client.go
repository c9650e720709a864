package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/internal/rawjson"
	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/httpapi"
)

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
	var maxBody int64
	if cfg.PageSize > 0 {
		maxBody = int64(cfg.PageSize)*pageBodyPerEvent + 64<<10
	}
	return &Client{httpapi.NewClient(httpapi.Config{
		BaseURL: cfg.BaseURL, Header: http.Header{"Authorization": {"Bearer " + cfg.APIKey.Value()}},
		Timeout: cfg.Timeout, MaxRetries: cfg.MaxRetries, RetryWaitMin: cfg.RetryWaitMin, RetryWaitMax: cfg.RetryWaitMax,
		MaxServerWait: cfg.MaxServerWait, MaxBody: maxBody, ReadError: readError,
		Limiter: cfg.Limiter, Clock: cfg.Clock, Name: cfg.Name, Logger: cfg.Logger, Telemetry: cfg.Telemetry,
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
// The elements of Data are slices of body: body must not change while
// they are in use.
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
// it, then copies every element on its own): the elements are slices of
// body. ok is false for anything unusual that
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
		env.Data = make([]json.RawMessage, len(elems))
		for i, e := range elems {
			env.Data[i] = body[e.Start:e.End:e.End]
		}
	}
	return env, true
}
