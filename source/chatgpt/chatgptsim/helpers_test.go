package chatgptsim_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim/chatgptsimtest"
	"github.com/auditrelay/auditrelay/source/internal/simkit/simkittest"
	"github.com/auditrelay/auditrelay/source/internal/sourcetest"
)

const key = "sk-compliance-test-key"

var t0 = time.Date(2026, 7, 9, 12, 0, 0, 0, time.UTC)

// start serves a simulator of o (with the test key and a fixed clock unless
// o names its own) and returns it, its base URL and its workspace's logs
// URL.
func start(t testing.TB, o chatgptsim.Options) (*chatgptsim.Server, string, string) {
	t.Helper()
	if o.APIKey == "" {
		o.APIKey = key
	}
	if o.Now == nil {
		o.Now = sourcetest.NewClock(t0).Now
	}
	sim, base := chatgptsimtest.Start(t, o)
	return sim, base, base + "/workspaces/" + sim.WorkspaceID() + "/logs"
}

// keyless follows redirects without the Authorization header, as a
// collector must: the signed URL is the credential on the download host.
var keyless = &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
	req.Header.Del("Authorization")
	return nil
}}

// noRedirect stops at the 307, to look at it.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// get requests u with the test key (or the Authorization value given) and
// returns the status, headers and body.
func get(t testing.TB, c *http.Client, u string, q url.Values, auth ...string) (int, http.Header, []byte) {
	t.Helper()
	if q != nil {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := "Bearer " + key
	if len(auth) > 0 {
		a = auth[0]
	}
	if a != "" {
		req.Header.Set("Authorization", a)
	}
	return simkittest.Do(t, c, req)
}

type file struct {
	ID         string `json:"id"`
	EventType  string `json:"event_type"`
	EndTime    string `json:"end_time"`
	FileName   string `json:"file_name"`
	FileSize   int64  `json:"file_size"`
	FileSHA256 string `json:"file_sha256"`
}

type page struct {
	Data        []file  `json:"data"`
	HasMore     *bool   `json:"has_more"`
	LastEndTime *string `json:"last_end_time"`
}

func decodePage(t testing.TB, b []byte) page {
	t.Helper()
	var p page
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&p); err != nil {
		t.Fatalf("list body: %v\n%s", err, b)
	}
	if d.More() {
		t.Fatalf("list body holds more than one document:\n%s", b)
	}
	if p.Data == nil || p.HasMore == nil {
		t.Fatalf("list body without data or has_more:\n%s", b)
	}
	return p
}

// list fetches one page of typ from after (an RFC 3339 time, "" for
// none) with limit.
func list(t testing.TB, logs, typ, after string, limit int) page {
	t.Helper()
	q := url.Values{"event_type": {typ}}
	if after != "" {
		q.Set("after", after)
	}
	if limit > 0 {
		q.Set("limit", itoa(limit))
	}
	code, _, b := get(t, http.DefaultClient, logs, q)
	if code != http.StatusOK {
		t.Fatalf("list %s after %s: status %d: %s", typ, after, code, b)
	}
	return decodePage(t, b)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// lines splits a JSONL body into its lines, without their newlines.
func lines(b []byte) [][]byte {
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	return out
}

// fileBytes is what the simulator serves for id without faults.
func fileBytes(t testing.TB, sim *chatgptsim.Server, id string) []byte {
	t.Helper()
	var b bytes.Buffer
	if ok, err := sim.WriteFile(&b, id); !ok || err != nil {
		t.Fatalf("WriteFile(%s) = %v, %v", id, ok, err)
	}
	return b.Bytes()
}
