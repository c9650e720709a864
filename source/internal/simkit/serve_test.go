package simkit

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
)

// TestWeightsPick: an index is picked for the draws below its running sum,
// so that a zero weight is never picked and the picks follow the weights.
func TestWeightsPick(t *testing.T) {
	var ws Weights
	for _, w := range []int{3, 0, 1} {
		ws.Add(w)
	}
	var got [3]int
	for x := range uint64(8) {
		got[ws.Pick(x)]++
	}
	if got != [3]int{6, 0, 2} {
		t.Fatalf("picks %v of 8 draws, want [6 0 2]", got)
	}
}

func TestNextFaultCountsOnlyDraws(t *testing.T) {
	var seq atomic.Uint64
	if k, _ := NextFault(&seq, 1, 0, []string{"a"}); k != "" || seq.Load() != 0 {
		t.Fatalf("rate 0 drew %q, counted %d", k, seq.Load())
	}
	if k, _ := NextFault(&seq, 1, 1, []string{"a"}); k != "a" || seq.Load() != 1 {
		t.Fatalf("rate 1 drew %q, counted %d", k, seq.Load())
	}
	kinds := []string{"b"}
	got := KindsOrAll(kinds, []string{"x", "y"})
	kinds[0] = "c"
	if got[0] != "b" || len(KindsOrAll(nil, []string{"x", "y"})) != 2 {
		t.Fatalf("KindsOrAll = %v", got)
	}
}

// TestStatusWriterNotesOnce: the first status written is the one counted;
// a handler that writes nothing counts 200, or 499 when its client left.
func TestStatusWriterNotesOnce(t *testing.T) {
	var counted []int
	count := func(code int) { counted = append(counted, code) }
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	w := NewStatusWriter(httptest.NewRecorder(), count)
	w.WriteHeader(http.StatusTeapot)
	w.Write([]byte("x")) //nolint:errcheck // a recorder
	w.Done(r)
	NewStatusWriter(httptest.NewRecorder(), count).Done(r)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	NewStatusWriter(httptest.NewRecorder(), count).Done(r.WithContext(ctx))
	if want := []int{http.StatusTeapot, http.StatusOK, StatusClientGone}; !slices.Equal(counted, want) {
		t.Fatalf("counted %v, want %v", counted, want)
	}
}

// TestServersStartOnce: a second Start is refused until Close, which is
// safe twice and closes the listeners.
func TestServersStartOnce(t *testing.T) {
	var s Servers
	if err := s.Close(); err != nil {
		t.Fatalf("Close before Start: %v", err)
	}
	listen := func() net.Listener {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return ln
	}
	hello := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		WriteBody(w, http.StatusOK, "text/plain", []byte("hello"))
	})
	ln := listen()
	if !s.Start(Listener{ln, hello}) || !s.Serving() {
		t.Fatal("Start refused")
	}
	second := listen()
	defer second.Close()
	if s.Start(Listener{second, hello}) {
		t.Fatal("a second Start was accepted")
	}
	resp, err := http.Get("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "hello" || resp.Header.Get("Content-Length") != "5" {
		t.Fatalf("answer %q, Content-Length %q", b, resp.Header.Get("Content-Length"))
	}
	if err := s.Close(); err != nil || s.Serving() {
		t.Fatalf("Close: %v, serving %v", err, s.Serving())
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Fatal("the listener is still open after Close")
	}
}
