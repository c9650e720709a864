package anthropic

import (
	"net/http"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/httpapi"
)

// APIVersion is the anthropic-version every Compliance API request must
// carry.
const APIVersion = "2023-06-01"

// ScopeActivities is the scope a key needs to read the activity feed.
const ScopeActivities = "read:compliance_activities"

// newClient is the client of c's keys for the source or feed set names,
// paced by lim, learning the API's time on clock (transport: nil for the
// default).
func (c *Config) newClient(set pipeline.Settings, lim *httpapi.Limiter, clock *httpapi.Clock, transport http.RoundTripper) *httpapi.Client {
	return NewClient(c.APIKey, c.PageSize, httpapi.Config{
		BaseURL: c.BaseURL, Retry: c.Retry, Limiter: lim, Clock: clock,
		Name: set.Name, Logger: set.Log(), Telemetry: set.Tel(), Tracer: set.Trace(), Transport: transport,
	})
}

// pageBodyPerActivity is the body a page may take per activity it holds:
// an activity is about a kilobyte (a compliance_api_accessed with its
// request body the largest); a page larger than this per activity is not a
// page but a broken or hostile answer.
const pageBodyPerActivity = 16 << 10

// NewClient returns the retrying client of package httpapi set up for the
// Compliance API with key: its headers, its error answers, the bound of a
// page of pageSize activities (0: httpapi's default bound). cfg gives the
// rest (base URL, retries, pacing, telemetry); the API's own Header,
// MaxBody and ReadError replace cfg's.
func NewClient(key pipeline.Secret, pageSize int, cfg httpapi.Config) *httpapi.Client {
	cfg.Header = http.Header{"X-Api-Key": {key.Value()}, "Anthropic-Version": {APIVersion}}
	cfg.MaxBody = httpapi.PageMaxBody(pageSize, pageBodyPerActivity)
	cfg.ReadError = readError
	return httpapi.NewClient(cfg)
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
