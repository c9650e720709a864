package chatgptsim_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"runtime"
	"testing"

	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
)

// lineCounter counts the newlines written to it.
type lineCounter struct{ n int }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.n += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

// download streams file f through a hash and a line counter, holding
// nothing.
func download(t testing.TB, logs string, f file) (sum string, size int64, lines int) {
	t.Helper()
	resp := openFile(t, logs, f)
	defer resp.Body.Close()
	h, c := sha256.New(), &lineCounter{}
	size, err := io.Copy(io.MultiWriter(h, c), resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	return hex.EncodeToString(h.Sum(nil)), size, c.n
}

// openFile asks the API for file f with the test key and follows the
// redirect to the download host without it; the caller reads the body.
func openFile(t testing.TB, logs string, f file) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, logs+"/"+f.ID, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := keyless.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// allocated returns the bytes allocated while fn ran.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestBigFileStreamsInBoundedMemory lists and downloads a file of 100,000
// lines: what is allocated for it (the digest pass of the listing, then
// the download, client included) stays a small bound, a fraction of the
// file, so no pass holds the file in memory.
func TestBigFileStreamsInBoundedMemory(t *testing.T) {
	const n = 100_000
	_, _, logs := start(t, chatgptsim.Options{Seed: 30, Lines: 10,
		BigFiles: []chatgptsim.BigFile{{Type: "APP_AUTH_LOG", Index: 1, Lines: n}}})
	var f file
	listing := allocated(func() { f = list(t, logs, "APP_AUTH_LOG", "", 3).Data[1] })
	var sum string
	var size int64
	var lines int
	streaming := allocated(func() { sum, size, lines = download(t, logs, f) })
	t.Logf("file of %d lines, %d MB; allocated %d KB listing it, %d KB downloading it", lines, size>>20, listing>>10, streaming>>10)
	if lines != n || size != f.FileSize || sum != f.FileSHA256 {
		t.Fatalf("%d lines, %d bytes (listed %d), sha256 %s (listed %s)", lines, size, f.FileSize, sum, f.FileSHA256)
	}
	if size < 30<<20 {
		t.Fatalf("the file is only %d bytes: it proves nothing", size)
	}
	// What a download needs whatever the file's length: buffers of a few
	// tens of KB on either side, and the client's and server's bookkeeping.
	const limit = 2 << 20
	if listing > limit || streaming > limit {
		t.Fatalf("allocated %d bytes listing and %d downloading a %d byte file: want each under %d", listing, streaming, size, limit)
	}
}

// BenchmarkDownload measures streaming a file of 10,000 lines over HTTP:
// bytes per second and what each download allocates.
func BenchmarkDownload(b *testing.B) {
	_, _, logs := start(b, chatgptsim.Options{Seed: 31, Lines: 10,
		BigFiles: []chatgptsim.BigFile{{Type: "CONVERSATION_MESSAGE", Index: 0, Lines: 10_000}}})
	f := list(b, logs, "CONVERSATION_MESSAGE", "", 1).Data[0]
	b.SetBytes(f.FileSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, size, _ := download(b, logs, f); size != f.FileSize {
			b.Fatalf("%d bytes of %d", size, f.FileSize)
		}
	}
}
