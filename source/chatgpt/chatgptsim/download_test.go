package chatgptsim_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
	"github.com/auditrelay/auditrelay/source/internal/sourcetest"
)

// firstFile lists the first file of typ.
func firstFile(t testing.TB, logs, typ string) file {
	t.Helper()
	p := list(t, logs, typ, "", 1)
	if len(p.Data) != 1 {
		t.Fatalf("no %s file", typ)
	}
	return p.Data[0]
}

// TestDownloadRedirectsToASignedURL: the API answers 307 to the download
// host; a client that drops its key there gets the file, whose bytes
// match the listing's size and digest.
func TestDownloadRedirectsToASignedURL(t *testing.T) {
	sim, base, logs := start(t, chatgptsim.Options{Seed: 10})
	f := firstFile(t, logs, "CONVERSATION_MESSAGE")
	code, h, _ := get(t, noRedirect, logs+"/"+f.ID, nil)
	loc, err := url.Parse(h.Get("Location"))
	if code != http.StatusTemporaryRedirect || err != nil {
		t.Fatalf("status %d, Location %q", code, h.Get("Location"))
	}
	api, _ := url.Parse(base)
	if loc.Host == api.Host || loc.Query().Get("sig") == "" || loc.Query().Get("se") == "" {
		t.Fatalf("Location %s: want another host and a signature that expires", loc)
	}

	code, h, b := get(t, keyless, logs+"/"+f.ID, nil)
	sum := sha256.Sum256(b)
	if code != 200 || h.Get("Content-Type") != "application/x-ndjson" || int64(len(b)) != f.FileSize || hex.EncodeToString(sum[:]) != f.FileSHA256 {
		t.Fatalf("download: status %d, %s, %d bytes (listed %d), sha256 %x (listed %s)", code, h.Get("Content-Type"), len(b), f.FileSize, sum, f.FileSHA256)
	}
	if !bytes.Equal(b, fileBytes(t, sim, f.ID)) {
		t.Fatal("the download differs from WriteFile")
	}
	for i, l := range lines(b) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil || m["type"] != "CONVERSATION_MESSAGE" {
			t.Fatalf("line %d: %v: %s", i, err, l)
		}
	}
	// The server counts a request when its handler returns, which may be
	// just after the client read the last byte: wait for the count.
	want := func(st chatgptsim.Stats) bool {
		return st.Requests[chatgptsim.EndpointFile][307] == 2 && st.Requests[chatgptsim.EndpointDownload][200] == 1 && st.FilesServed == 1 && st.AuthOnDownload == 0
	}
	st := sim.Stats()
	for deadline := time.Now().Add(5 * time.Second); !want(st) && time.Now().Before(deadline); st = sim.Stats() {
		runtime.Gosched()
	}
	if !want(st) {
		t.Fatalf("stats: %+v", st)
	}

	// A file not listed yet, or of no export, is not found.
	c := sourcetest.NewClock(t0)
	later, _, laterLogs := start(t, chatgptsim.Options{Seed: 10, Now: c.Now})
	c.Add(time.Hour)
	future := later.Files("CONVERSATION_MESSAGE")
	c.Add(-time.Hour)
	for _, id := range []string{future[len(future)-1].ID, "eclf_0123456789abcdef", "eclf_x", "file-1"} {
		if code, _, b := get(t, keyless, laterLogs+"/"+id, nil); code != 404 {
			t.Errorf("file %s: status %d: %s", id, code, b)
		}
	}
}

// TestDownloadHostRefusesTheKey: a request to the signed URL that carries
// an Authorization header is refused and counted. Both hosts are loopback
// addresses of one name, so Go's default redirect policy, which keeps the
// header for the same host name whatever the port, forwards the key:
// the client itself must drop it.
func TestDownloadHostRefusesTheKey(t *testing.T) {
	sim, _, logs := start(t, chatgptsim.Options{Seed: 11})
	f := firstFile(t, logs, "AUDIT_LOG")
	code, _, b := get(t, http.DefaultClient, logs+"/"+f.ID, nil)
	if code != http.StatusBadRequest || !strings.Contains(string(b), "Authorization") {
		t.Fatalf("default client: status %d: %s", code, b)
	}
	_, h, _ := get(t, noRedirect, logs+"/"+f.ID, nil)
	for _, auth := range []string{"Bearer " + key, "Bearer other", ""} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, h.Get("Location"), nil)
		req.Header["Authorization"] = []string{auth}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("Authorization %q on the download host: status %d", auth, resp.StatusCode)
		}
	}
	if st := sim.Stats(); st.AuthOnDownload != 4 || st.Requests[chatgptsim.EndpointDownload][400] != 4 || st.FilesServed != 0 {
		t.Fatalf("stats: %+v", st)
	}
	if code, _, _ := get(t, keyless, logs+"/"+f.ID, nil); code != 200 || sim.Stats().AuthOnDownload != 4 {
		t.Fatalf("without the key: status %d, %d keys seen", code, sim.Stats().AuthOnDownload)
	}
}

// TestSignedURLExpires on the simulated clock, and a forged signature is
// refused.
func TestSignedURLExpires(t *testing.T) {
	c := sourcetest.NewClock(t0)
	_, _, logs := start(t, chatgptsim.Options{Seed: 12, Now: c.Now, URLTTL: time.Minute})
	f := firstFile(t, logs, "AUTH_LOG")
	_, h, _ := get(t, noRedirect, logs+"/"+f.ID, nil)
	signed := h.Get("Location")
	if code, _, _ := get(t, keyless, signed, nil, ""); code != 200 {
		t.Fatalf("fresh URL: %d", code)
	}
	u, _ := url.Parse(signed)
	q := u.Query()
	q.Set("se", itoa(int(t0.Add(time.Hour).Unix()))) // a later expiry under the old signature
	u.RawQuery = q.Encode()
	if code, _, b := get(t, keyless, u.String(), nil, ""); code != 403 || !strings.Contains(string(b), "Signature") {
		t.Fatalf("forged expiry: %d %s", code, b)
	}
	c.Add(time.Minute)
	if code, _, _ := get(t, keyless, signed, nil, ""); code != 200 {
		t.Fatalf("at the expiry second: %d", code)
	}
	c.Add(time.Second)
	if code, _, b := get(t, keyless, signed, nil, ""); code != 403 || !strings.Contains(string(b), "expiry") {
		t.Fatalf("expired URL: %d %s", code, b)
	}
	// A new redirect signs anew.
	if code, _, _ := get(t, keyless, logs+"/"+f.ID, nil); code != 200 {
		t.Fatalf("new URL: %d", code)
	}
}

// downloadFaulted serves one file with every download faulted by kind
// (the listing and the redirect are left alone: the kind does not apply
// to them), and returns the listed file, the status, the body read and
// the read's error.
func downloadFaulted(t *testing.T, seed int64, kind chatgptsim.FaultKind) (*chatgptsim.Server, file, int, []byte, error) {
	t.Helper()
	sim, _, logs := start(t, chatgptsim.Options{Seed: seed, Lines: 200})
	f := firstFile(t, logs, "CONVERSATION_MESSAGE")
	if err := sim.SetFaults(chatgptsim.Faults{Rate: 1, Kinds: []chatgptsim.FaultKind{kind}}); err != nil {
		t.Fatal(err)
	}
	resp := openFile(t, logs, f)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return sim, f, resp.StatusCode, b, err
}

func TestDigestFault(t *testing.T) {
	sim, f, code, b, err := downloadFaulted(t, 13, chatgptsim.FaultDigest)
	sum := sha256.Sum256(b)
	if code != 200 || err != nil || int64(len(b)) != f.FileSize || hex.EncodeToString(sum[:]) == f.FileSHA256 {
		t.Fatalf("status %d, err %v, %d bytes of %d, digest %x listed %s: want the listed size and another digest", code, err, len(b), f.FileSize, sum, f.FileSHA256)
	}
	clean := lines(fileBytes(t, sim, f.ID))
	got := lines(b)
	changed := 0
	for i := range clean {
		if !bytes.Equal(clean[i], got[i]) {
			changed++
			var a, c map[string]any
			if json.Unmarshal(got[i], &a) != nil || json.Unmarshal(clean[i], &c) != nil || a["event_id"] == c["event_id"] {
				t.Fatalf("line %d changed outside its event_id, or is no longer JSON:\n%s\n%s", i, got[i], clean[i])
			}
		}
	}
	if changed != 1 || sim.Stats().Faults[chatgptsim.FaultDigest] != 1 || sim.Stats().FilesServed != 0 {
		t.Fatalf("%d lines changed, stats %+v", changed, sim.Stats())
	}
}

func TestTruncateFault(t *testing.T) {
	sim, f, code, b, err := downloadFaulted(t, 14, chatgptsim.FaultTruncate)
	if code != 200 || !errors.Is(err, io.ErrUnexpectedEOF) || int64(len(b)) != f.FileSize/2 || b[len(b)-1] == '\n' {
		t.Fatalf("status %d, err %v, %d bytes of %d (ends %q): want half the file then an unexpected EOF", code, err, len(b), f.FileSize, b[len(b)-1:])
	}
	if !bytes.HasPrefix(fileBytes(t, sim, f.ID), b) {
		t.Fatal("the truncated body is not a prefix of the file")
	}
	if st := sim.Stats(); st.Faults[chatgptsim.FaultTruncate] != 1 || st.Requests[chatgptsim.EndpointDownload][200] != 1 || st.FilesServed != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestShortLengthFault(t *testing.T) {
	sim, f, code, b, err := downloadFaulted(t, 15, chatgptsim.FaultShortLength)
	if code != 200 || err != nil || int64(len(b)) != f.FileSize/2 || b[len(b)-1] == '\n' {
		t.Fatalf("status %d, err %v, %d bytes of %d: want a clean read of half the file, ending inside a line", code, err, len(b), f.FileSize)
	}
	if !bytes.HasPrefix(fileBytes(t, sim, f.ID), b) || sim.Stats().Faults[chatgptsim.FaultShortLength] != 1 {
		t.Fatalf("not a prefix, or not counted: %+v", sim.Stats())
	}
}

// TestCommonFaults: each kind that applies to every request, on the list.
func TestCommonFaults(t *testing.T) {
	for _, tc := range []struct {
		kind        chatgptsim.FaultKind
		code        int
		retryAfter  string
		contentType string
	}{
		{chatgptsim.Fault429, 429, "3", "application/json"},
		{chatgptsim.Fault429Bare, 429, "", "application/json"},
		{chatgptsim.Fault500, 500, "", "application/json"},
		{chatgptsim.Fault502, 502, "", "text/html"},
		{chatgptsim.Fault503, 503, "1", "application/json"},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			sim, _, logs := start(t, chatgptsim.Options{Seed: 16, Faults: chatgptsim.Faults{Rate: 1, Kinds: []chatgptsim.FaultKind{tc.kind}, RetryAfter: 2500 * time.Millisecond}})
			code, h, b := get(t, http.DefaultClient, logs, url.Values{"event_type": {"AUDIT_LOG"}})
			if code != tc.code || h.Get("Retry-After") != tc.retryAfter || h.Get("Content-Type") != tc.contentType {
				t.Fatalf("status %d, Retry-After %q, %s: %s", code, h.Get("Retry-After"), h.Get("Content-Type"), b)
			}
			if st := sim.Stats(); st.Faults[tc.kind] != 1 || st.Requests[chatgptsim.EndpointList][tc.code] != 1 {
				t.Fatalf("stats: %+v", st)
			}
			// Authentication comes first: a refused request draws no fault.
			if code, _, _ := get(t, http.DefaultClient, logs, url.Values{"event_type": {"AUDIT_LOG"}}, ""); code != 401 {
				t.Fatalf("without a key: %d", code)
			}
		})
	}
}

// TestMultiDocFault: the page arrives as two JSON documents; read in
// order, with the last document's cursor, they are the page.
func TestMultiDocFault(t *testing.T) {
	sim, _, logs := start(t, chatgptsim.Options{Seed: 17})
	clean := list(t, logs, "APP_AUTH_LOG", "", 5)
	sim.SetFaults(chatgptsim.Faults{Rate: 1, Kinds: []chatgptsim.FaultKind{chatgptsim.FaultMultiDoc}})
	for _, limit := range []int{5, 1} {
		_, _, b := get(t, http.DefaultClient, logs, url.Values{"event_type": {"APP_AUTH_LOG"}, "limit": {itoa(limit)}})
		if json.Valid(b) {
			t.Fatalf("limit %d: one document: %s", limit, b)
		}
		d := json.NewDecoder(bytes.NewReader(b))
		var merged page
		docs := 0
		for d.More() {
			var p page
			if err := d.Decode(&p); err != nil {
				t.Fatal(err)
			}
			docs++
			merged.Data = append(merged.Data, p.Data...)
			merged.HasMore, merged.LastEndTime = p.HasMore, p.LastEndTime
		}
		if docs != 2 || len(merged.Data) != limit || !*merged.HasMore || *merged.LastEndTime != clean.Data[limit-1].EndTime {
			t.Fatalf("limit %d: %d documents, merged %+v", limit, docs, merged)
		}
		for i := range merged.Data {
			if merged.Data[i] != clean.Data[i] {
				t.Fatalf("limit %d: file %d is %+v, want %+v", limit, i, merged.Data[i], clean.Data[i])
			}
		}
	}
	if n := sim.Stats().Faults[chatgptsim.FaultMultiDoc]; n != 2 {
		t.Fatalf("%d multidoc faults counted", n)
	}
}

// TestFaultRateAndSequence: faults hit about Rate of the requests, in a
// sequence fixed by the seed, and only where they apply.
func TestFaultRateAndSequence(t *testing.T) {
	run := func() []int {
		_, _, logs := start(t, chatgptsim.Options{Seed: 18, Faults: chatgptsim.Faults{Rate: 0.3,
			Kinds: []chatgptsim.FaultKind{chatgptsim.Fault500, chatgptsim.FaultDigest}}})
		var codes []int
		for range 200 {
			code, _, _ := get(t, http.DefaultClient, logs, url.Values{"event_type": {"AUDIT_LOG"}, "limit": {"1"}})
			codes = append(codes, code)
		}
		return codes
	}
	a, b := run(), run()
	failed := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("request %d: %d then %d: the sequence is not fixed by the seed", i, a[i], b[i])
		}
		if a[i] == 500 {
			failed++
		}
	}
	// 200 requests at 0.3, half of the draws a digest fault that does not
	// apply to a listing: about 30 answers of 500.
	if failed < 15 || failed > 50 {
		t.Fatalf("%d of 200 requests failed, want about 30", failed)
	}
}
