package anthropic

import (
	"log/slog"
	"net/http"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/httpapi"
)

// APIVersion is the anthropic-version every Compliance API request must
// carry.
const APIVersion = "2023-06-01"

// ScopeActivities is the scope a key needs to read the activity feed.
const ScopeActivities = "read:compliance_activities"

// ClientConfig configures a client of the Compliance API.
type ClientConfig struct {
	// BaseURL is the API root, e.g. https://api.anthropic.com.
	BaseURL string
	// APIKey is sent as x-api-key.
	APIKey pipeline.Secret
	// Retry bounds one request and its retries (see httpapi.Config).
	httpapi.Retry
	// PageSize, when set, bounds a page's body to what that many
	// activities may take (pageBodyPerActivity each).
	PageSize int
	// Limiter paces the requests; Clock learns the API's clock.
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
}

// clientConfig is the client of cfg's keys, paced by lim, learning the
// API's time on clock (transport: nil for the default).
func (c *Config) clientConfig(set pipeline.Settings, lim *httpapi.Limiter, clock *httpapi.Clock, transport http.RoundTripper) ClientConfig {
	return ClientConfig{
		BaseURL: c.BaseURL, APIKey: c.APIKey, Retry: c.Retry, PageSize: c.PageSize, Limiter: lim, Clock: clock,
		Name: set.Name, Logger: set.Log(), Telemetry: set.Tel(), Tracer: set.Trace(), Transport: transport,
	}
}

// pageBodyPerActivity is the body a page may take per activity it holds:
// an activity is about a kilobyte (a compliance_api_accessed with its
// request body the largest); a page larger than this per activity is not a
// page but a broken or hostile answer.
const pageBodyPerActivity = 16 << 10

// NewClient returns the retrying client of package httpapi set up for the
// Compliance API: its headers, its error answers, the bound of a page.
func NewClient(cfg ClientConfig) *httpapi.Client {
	return httpapi.NewClient(httpapi.Config{
		BaseURL: cfg.BaseURL,
		Header:  http.Header{"X-Api-Key": {cfg.APIKey.Value()}, "Anthropic-Version": {APIVersion}},
		Retry:   cfg.Retry, MaxBody: httpapi.PageMaxBody(cfg.PageSize, pageBodyPerActivity), ReadError: readError,
		Limiter: cfg.Limiter, Clock: cfg.Clock, Name: cfg.Name, Logger: cfg.Logger, Telemetry: cfg.Telemetry, Tracer: cfg.Tracer,
		Transport: cfg.Transport, UserAgent: "auditrelay",
	})
}

// readError reads the API's error answer ({"type":"error","error":{"type",
// "message"}} and the request-id header) and says what a person should do
// about a refused key or a wrong base URL. A 500 the API marks
// x-should-retry: false is permanent: the API says asking again cannot
// help (the retry layer already does not repeat it).
func readError(resp *http.Response) error {
	hint := ""
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		hint = "the compliance key was refused (401): check api_key; it must be a Compliance Access Key (sk-ant-api01-...) or an Admin API key (sk-ant-admin01-...) of the organization that is not revoked"
	case http.StatusForbidden:
		hint = "the compliance key may not read the activity feed (403): the key needs the scope " + ScopeActivities +
			"; create a Compliance Access Key with it, or give the admin key that scope"
	case http.StatusNotFound:
		hint = "not found (404): check base_url (the API root such as " + DefaultBaseURL + ", without /v1)"
	case http.StatusBadRequest:
		hint = "the API refused the request (400)"
	}
	err := error(httpapi.ReadAPIError(resp, hint))
	if resp.StatusCode >= 500 && resp.Header.Get("x-should-retry") == "false" {
		err = pipeline.Permanent(err)
	}
	return err
}
