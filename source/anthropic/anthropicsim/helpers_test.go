package anthropicsim_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim/anthropicsimtest"
	"github.com/auditrelay/auditrelay/source/internal/pipenet"
	"github.com/auditrelay/auditrelay/source/internal/simkit/simkittest"
	"github.com/auditrelay/auditrelay/source/internal/sourcetest"
)

const key = "sk-ant-api01-test-compliance-key"

var t0 = time.Date(2026, 7, 9, 12, 0, 0, 0, time.UTC)

// start serves a simulator of o over loopback TCP, with the test key and
// a fixed clock unless o names its own, and no budget unless o sets one
// (a test of hundreds of pages would otherwise meet it), and returns it and
// its activities URL.
func start(t testing.TB, o anthropicsim.Options) (*anthropicsim.Server, string) {
	t.Helper()
	if o.Keys == nil {
		o.Keys = []anthropicsim.Key{{Secret: key}}
	}
	if o.Now == nil {
		o.Now = sourcetest.NewClock(t0).Now
	}
	if o.RequestsPerMinute == 0 {
		o.RequestsPerMinute = -1
	}
	sim, base := anthropicsimtest.Start(t, o)
	return sim, base + "/v1/compliance/activities"
}

// get requests u with q and the test key and version, unless hdr names
// other values ("" removes a header), and returns the status, headers and
// body.
func get(t testing.TB, c *http.Client, u string, q url.Values, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-api-key", key)
	req.Header.Set("anthropic-version", "2023-06-01")
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	return simkittest.Do(t, c, req)
}

type activity struct {
	ID             string  `json:"id"`
	CreatedAt      string  `json:"created_at"`
	OrganizationID *string `json:"organization_id"`
	OrgUUID        *string `json:"organization_uuid"`
	Type           string  `json:"type"`
	Actor          struct {
		Type   string `json:"type"`
		UserID string `json:"user_id"`
	} `json:"actor"`
}

type page struct {
	Data    []json.RawMessage `json:"data"`
	HasMore *bool             `json:"has_more"`
	FirstID *string           `json:"first_id"`
	LastID  *string           `json:"last_id"`
}

// decodePage checks the envelope strictly: exactly its four members, ids
// null on an empty page and naming the ends of the data otherwise.
func decodePage(t testing.TB, b []byte) (page, []activity) {
	t.Helper()
	var p page
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&p); err != nil {
		t.Fatalf("list body: %v\n%s", err, b)
	}
	if p.Data == nil || p.HasMore == nil {
		t.Fatalf("list body without data or has_more:\n%s", b)
	}
	acts := make([]activity, len(p.Data))
	for i, raw := range p.Data {
		if err := json.Unmarshal(raw, &acts[i]); err != nil || acts[i].ID == "" || acts[i].Type == "" || acts[i].Actor.Type == "" {
			t.Fatalf("activity %d: %v\n%s", i, err, raw)
		}
	}
	switch {
	case len(acts) == 0 && (p.FirstID != nil || p.LastID != nil):
		t.Fatalf("empty page with ids:\n%s", b)
	case len(acts) > 0 && (p.FirstID == nil || *p.FirstID != acts[0].ID || p.LastID == nil || *p.LastID != acts[len(acts)-1].ID):
		t.Fatalf("first_id/last_id do not name the ends of the page:\n%s", b)
	}
	return p, acts
}

// list fetches one page and fails the test unless it is a 200.
func list(t testing.TB, c *http.Client, u string, q url.Values) (page, []activity) {
	t.Helper()
	code, _, b := get(t, c, u, q)
	if code != http.StatusOK {
		t.Fatalf("GET ?%s: status %d: %s", q.Encode(), code, b)
	}
	return decodePage(t, b)
}

// walk pages q to the end, following the cursor the way the API notes
// say, and returns the ids in the order served. With cursor "after_id"
// the next page is after_id=last_id; with "before_id" it is
// before_id=first_id. from, when set, is the first page's cursor.
func walk(t testing.TB, c *http.Client, u string, q url.Values, cursor, from string) []string {
	t.Helper()
	q = clone(q)
	if from != "" {
		q.Set(cursor, from)
	}
	var ids []string
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("paging does not end")
		}
		p, acts := list(t, c, u, q)
		for _, a := range acts {
			ids = append(ids, a.ID)
		}
		if !*p.HasMore {
			return ids
		}
		if len(acts) == 0 {
			t.Fatal("has_more with no data")
		}
		if cursor == "after_id" {
			q.Set("after_id", *p.LastID)
		} else {
			q.Set("before_id", *p.FirstID)
		}
	}
}

func clone(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

// apiError is Anthropic's error body.
type apiError struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

func decodeError(t testing.TB, b []byte) apiError {
	t.Helper()
	var e apiError
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&e); err != nil || e.Type != "error" || e.Error.Type == "" || e.Error.Message == "" {
		t.Fatalf("error body %s: %v", b, err)
	}
	return e
}

// serveInBubble serves a simulator of o (test key unless o names keys) on
// a pipenet listener, in the synctest bubble of t, and returns it, its
// activities URL and the client that reaches it.
func serveInBubble(t *testing.T, o anthropicsim.Options) (*anthropicsim.Server, string, *http.Client) {
	t.Helper()
	if o.Keys == nil {
		o.Keys = []anthropicsim.Key{{Secret: key}}
	}
	sim := anthropicsim.New(o)
	ln := pipenet.Listen("api.sim.invalid:80")
	base, err := sim.Serve(ln)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{DialContext: ln.Dial, MaxIdleConnsPerHost: 16}}
	t.Cleanup(func() {
		c.CloseIdleConnections()
		if err := sim.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Error(err)
		}
	})
	return sim, base + "/v1/compliance/activities", c
}
