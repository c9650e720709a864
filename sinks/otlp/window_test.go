package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/auditrelay/auditrelay/pipeline"
)

// sourceOf returns the auditrelay.source.name of a request's first resource.
func sourceOf(ld plog.Logs) string {
	v, _ := ld.ResourceLogs().At(0).Resource().Attributes().Get("auditrelay.source.name")
	return v.Str()
}

// failNth fails the calls whose 1-based number (counted among requests of
// source, or all requests when source is "") is in nth, with err.
func failNth(source string, err error, nth ...int) func(plog.Logs) (plogotlp.ExportResponse, error) {
	var mu sync.Mutex
	calls := 0
	return func(ld plog.Logs) (plogotlp.ExportResponse, error) {
		if source != "" && sourceOf(ld) != source {
			return plogotlp.NewExportResponse(), nil
		}
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if slices.Contains(nth, n) {
			return plogotlp.NewExportResponse(), err
		}
		return plogotlp.NewExportResponse(), nil
	}
}

// window cuts evs into batches of size, marked as one window of source.
func windowBatches(source string, evs []pipeline.Event, size int) []pipeline.Batch {
	var out []pipeline.Batch
	for i := 0; i < len(evs); i += size {
		end := min(i+size, len(evs))
		out = append(out, pipeline.Batch{Source: source, Events: evs[i:end], WindowStart: i == 0, WindowEnd: end == len(evs)})
	}
	return out
}

// retryConsume retries b as the runner does (a few times, no back-off) and
// returns every error it saw.
func retryConsume(t *testing.T, s *Sink, b pipeline.Batch) []error {
	t.Helper()
	var errs []error
	for range 5 {
		err := s.Consume(context.Background(), b)
		if err == nil {
			return errs
		}
		errs = append(errs, err)
		if pipeline.IsPermanent(err) {
			break
		}
	}
	t.Fatalf("batch of %s (start %v, end %v) never went through: %v", b.Source, b.WindowStart, b.WindowEnd, errs)
	return nil
}

// TestWindowFailureSurfacesAtEnd: a failed background request fails a
// later batch of its window, whose retry sends it again, so nothing is
// lost. One request at a time makes the count of errors exact.
func TestWindowFailureSurfacesAtEnd(t *testing.T) {
	unavailable := status.Error(codes.Unavailable, "down")
	tests := []struct {
		name     string
		fail     []int // calls that fail
		batches  int   // of the window, 30 events each
		wantErrs int   // errors the window's batches return in all
	}{
		{"first request of the first batch", []int{1}, 2, 1},
		{"last request of a middle batch", []int{6}, 3, 1},
		{"no failure", nil, 3, 0},
		// Call 3 is the resend of call 2.
		{"the failed request fails again when resent", []int{2, 3}, 3, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &collector{replyLogs: failNth("", unavailable, tt.fail...)}
			s := newSink(t, func(cfg *Config) { cfg.Endpoint = startGRPC(t, c); cfg.MaxRecords = 10; cfg.MaxConcurrentRequests = 1 })
			evs := manyEvents(t, 30*tt.batches)
			var errs []error
			for _, b := range windowBatches("acme", evs, 30) {
				errs = append(errs, retryConsume(t, s, b)...)
			}
			if len(errs) != tt.wantErrs {
				t.Errorf("errors %v, want %d", errs, tt.wantErrs)
			}
			for _, err := range errs {
				if got := outcome(err); got != "retry" {
					t.Errorf("error %v is %s, want retry", err, got)
				}
			}
			if got := strings.Join(c.received(), ","); got != ids(evs) {
				t.Errorf("received out of order or incomplete:\n got %s\nwant %s", got, ids(evs))
			}
		})
	}
}

// TestWindowRejectionsReachWindowEnd: records a destination rejected in a
// background request come back from the WindowEnd batch, with their events.
func TestWindowRejectionsReachWindowEnd(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	c := &collector{replyLogs: func(ld plog.Logs) (plogotlp.ExportResponse, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 2 {
			return partial(1), nil
		}
		return plogotlp.NewExportResponse(), nil
	}}
	s := newSink(t, func(cfg *Config) { cfg.Endpoint = startGRPC(t, c); cfg.MaxRecords = 10; cfg.MaxConcurrentRequests = 1 })
	evs := manyEvents(t, 60)
	// The first batch's events get bytes of their own, which the caller
	// overwrites once Consume returned (as a runner may reuse its batch):
	// the sink must have kept copies.
	first := make([]pipeline.Event, 30)
	for i := range first {
		first[i] = evs[i]
		first[i].SetRaw(append([]byte(nil), evs[i].Raw...))
	}
	bs := windowBatches("acme", evs, 30)
	bs[0].Events = first
	if err := s.Consume(context.Background(), bs[0]); err != nil {
		t.Fatal(err)
	}
	for i := range first {
		for j := range first[i].Raw {
			first[i].Raw[j] = 'x'
		}
	}
	err := s.Consume(context.Background(), bs[1])
	var rej *pipeline.RejectedError
	if !errors.As(err, &rej) {
		t.Fatalf("WindowEnd: %v, want a RejectedError", err)
	}
	var got []pipeline.Event
	for _, r := range rej.Rejected {
		got = append(got, r.Event)
		if !strings.Contains(r.Reason, "rejected 1 of the 10") {
			t.Errorf("reason %q", r.Reason)
		}
	}
	if ids(got) != ids(evs[10:20]) {
		t.Errorf("rejected %s, want the second request's events", ids(got))
	}
	for i, ev := range got {
		if string(ev.Raw) != string(evs[10+i].Raw) {
			t.Errorf("rejected event %s: Raw differs from the original", ev.ID)
		}
	}
}

// TestWindowSourcesInterleaved: windows of several sources share the sink;
// a failure of one source's background request fails only its WindowEnd,
// and a restarted window forgets what the earlier attempt left.
func TestWindowSourcesInterleaved(t *testing.T) {
	c := &collector{replyLogs: failNth("a", status.Error(codes.Unavailable, "down"), 2)}
	s := newSink(t, func(cfg *Config) { cfg.Endpoint = startGRPC(t, c); cfg.MaxRecords = 10 })
	evs := manyEvents(t, 240)
	a := windowBatches("a", evs[:90], 30)
	b := windowBatches("b", evs[90:180], 30)
	a2 := windowBatches("a", evs[180:], 30) // the next window of a
	var wg sync.WaitGroup
	endErrs := map[string][]error{}
	var mu sync.Mutex
	run := func(name string, windows ...[]pipeline.Batch) {
		wg.Go(func() {
			for _, bs := range windows {
				for _, batch := range bs {
					errs := retryConsume(t, s, batch)
					if len(errs) > 0 {
						mu.Lock()
						endErrs[name] = append(endErrs[name], errs...)
						mu.Unlock()
					}
				}
			}
		})
	}
	run("a", a, a2)
	run("b", b)
	wg.Wait()
	if len(endErrs["a"]) == 0 {
		t.Error("source a: the failed background request was never reported")
	}
	if len(endErrs["b"]) > 0 {
		t.Errorf("source b saw errors of source a: %v", endErrs["b"])
	}
	got := slices.Compact(slices.Sorted(slices.Values(c.received())))
	if strings.Join(got, ",") != ids(evs) {
		t.Errorf("received %d distinct of %d events", len(got), len(evs))
	}

	// A window restarted from WindowStart does not inherit the failure of
	// the attempt before it.
	c2 := &collector{replyLogs: failNth("", status.Error(codes.Unavailable, "down"), 1)}
	s2 := newSink(t, func(cfg *Config) { cfg.Endpoint = startGRPC(t, c2); cfg.MaxRecords = 10 })
	w := windowBatches("a", evs[:60], 30)
	if err := s2.Consume(context.Background(), w[0]); err != nil {
		t.Fatal(err)
	}
	for s2.pending.Load() > 0 { // the first attempt's requests are answered
		time.Sleep(time.Millisecond)
	}
	for _, batch := range w { // the source redoes the window
		if err := s2.Consume(context.Background(), batch); err != nil {
			t.Errorf("restarted window: %v", err)
		}
	}
}

// TestShutdownWithRequestsInFlight: Shutdown waits for the background
// requests, or reports those it abandoned when its ctx ends first.
func TestShutdownWithRequestsInFlight(t *testing.T) {
	tests := []struct {
		name    string
		release bool // the collector answers while Shutdown waits
		wantErr string
	}{
		{"waits for the answers", true, ""},
		{"reports abandoned requests", false, "abandoned 3 requests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gate := make(chan struct{})
			var closeGate sync.Once
			t.Cleanup(func() { closeGate.Do(func() { close(gate) }) })
			arrived := make(chan struct{}, 10)
			c := &collector{replyLogs: func(plog.Logs) (plogotlp.ExportResponse, error) {
				arrived <- struct{}{}
				<-gate
				return plogotlp.NewExportResponse(), nil
			}}
			s := newSink(t, func(cfg *Config) { cfg.Endpoint = startGRPC(t, c); cfg.MaxRecords = 10 })
			bs := windowBatches("acme", manyEvents(t, 60), 30)
			if err := s.Consume(context.Background(), bs[0]); err != nil {
				t.Fatal(err)
			}
			// All three requests are in flight: the collector only takes
			// one at a time (collector.take locks), so wait for the first.
			<-arrived
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			if tt.release {
				closeGate.Do(func() { close(gate) })
				ctx = context.Background()
			}
			err := s.Shutdown(ctx)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Shutdown: %v, want %q", err, tt.wantErr)
			}
			if tt.release && len(c.received()) != 30 {
				t.Errorf("received %d records before Shutdown returned, want 30", len(c.received()))
			}
			if err := s.Consume(context.Background(), bs[1]); !pipeline.IsPermanent(err) {
				t.Errorf("Consume after Shutdown: %v, want a permanent error", err)
			}
		})
	}
}

// TestWindowInFlightBound: a mid-window batch blocks while
// max_concurrent_requests background requests are unanswered, and gives up
// with its ctx.
func TestWindowInFlightBound(t *testing.T) {
	gate := make(chan struct{})
	defer close(gate)
	c := &collector{replyLogs: func(plog.Logs) (plogotlp.ExportResponse, error) {
		<-gate
		return plogotlp.NewExportResponse(), nil
	}}
	s := newSink(t, func(cfg *Config) {
		cfg.Endpoint = startGRPC(t, c)
		cfg.MaxRecords = 10
		cfg.MaxConcurrentRequests = 2
	})
	bs := windowBatches("acme", manyEvents(t, 90), 30)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Consume(ctx, bs[0]); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("third request of a batch with 2 slots: %v, want the ctx's deadline", err)
	}
	if n := s.pending.Load(); n != 2 {
		t.Errorf("%d requests in flight, want 2", n)
	}
}

// TestGzipCompressor: what the gRPC compressor writes is gzip any reader
// takes, also when writers are reused concurrently.
func TestGzipCompressor(t *testing.T) {
	c := &gzipCompressor{}
	if c.Type() != "gzip" {
		t.Fatalf("Type() = %q", c.Type())
	}
	inputs := [][]byte{nil, []byte("x"), []byte(strings.Repeat(`{"id":"audit_log-1","type":"login.succeeded"}`, 500))}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for _, in := range inputs {
				var buf bytes.Buffer
				if err := c.Do(&buf, in); err != nil {
					t.Error(err)
					return
				}
				zr, err := gzip.NewReader(&buf)
				if err != nil {
					t.Error(err)
					return
				}
				out, err := io.ReadAll(zr)
				if err != nil || !bytes.Equal(out, in) {
					t.Errorf("round trip of %d bytes: got %d bytes, %v", len(in), len(out), err)
				}
			}
		})
	}
	wg.Wait()
}

// TestWindowPermanentFailure: a background request the destination refuses
// for good fails the window with a permanent error that does not promise a
// resend.
func TestWindowPermanentFailure(t *testing.T) {
	c := &collector{replyLogs: failNth("", status.Error(codes.InvalidArgument, "bad record"), 1)}
	s := newSink(t, func(cfg *Config) { cfg.Endpoint = startGRPC(t, c); cfg.MaxRecords = 10 })
	bs := windowBatches("acme", manyEvents(t, 60), 30)
	if err := s.Consume(context.Background(), bs[0]); err != nil {
		t.Fatal(err)
	}
	err := s.Consume(context.Background(), bs[1])
	if !pipeline.IsPermanent(err) || !strings.Contains(err.Error(), "was refused") || strings.Contains(err.Error(), "sent again") {
		t.Fatalf("WindowEnd: %v, want a permanent error saying the request was refused", err)
	}
}
