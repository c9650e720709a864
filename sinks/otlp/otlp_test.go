package otlp

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/httpbatch/httpbatchtest"
)

// collector records what an OTLP server received and answers with reply.
type collector struct {
	mu       sync.Mutex
	ids      []string
	requests int
	headers  []string // values of the x-api-key header seen
	reply    func(n int) (plogotlp.ExportResponse, error)
	// replyLogs, when set, answers instead of reply and sees the request.
	replyLogs func(ld plog.Logs) (plogotlp.ExportResponse, error)
}

func (c *collector) take(ld plog.Logs, key string) (plogotlp.ExportResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests++
	c.headers = append(c.headers, key)
	n := ld.LogRecordCount()
	if c.replyLogs != nil {
		if resp, err := c.replyLogs(ld); err != nil || resp.PartialSuccess().RejectedLogRecords() > 0 {
			return resp, err
		}
	} else if c.reply != nil {
		if resp, err := c.reply(n); err != nil || resp.PartialSuccess().RejectedLogRecords() > 0 {
			return resp, err
		}
	}
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				v, _ := lrs.At(k).Attributes().Get("openai.event.id")
				c.ids = append(c.ids, v.Str())
			}
		}
	}
	return plogotlp.NewExportResponse(), nil
}

func (c *collector) received() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.ids...)
}

type grpcServer struct {
	plogotlp.UnimplementedGRPCServer
	c *collector
}

func (s *grpcServer) Export(ctx context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	key := ""
	if v := md.Get("x-api-key"); len(v) > 0 {
		key = v[0]
	}
	return s.c.take(req.Logs(), key)
}

// startGRPC serves c over gRPC with opts on a loopback port until the
// test ends, and returns its address.
func startGRPC(t testing.TB, c *collector, opts ...grpc.ServerOption) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(serveGRPC(ln, c, opts...).Stop)
	return ln.Addr().String()
}

// serveGRPC serves c over gRPC with opts on ln until stopped.
func serveGRPC(ln net.Listener, c *collector, opts ...grpc.ServerOption) *grpc.Server {
	srv := grpc.NewServer(opts...)
	plogotlp.RegisterGRPCServer(srv, &grpcServer{c: c})
	go func() { _ = srv.Serve(ln) }()
	return srv
}

// startHTTP serves OTLP/HTTP as the collector's receiver does: protobuf or
// JSON by Content-Type, gzip by Content-Encoding, errors as HTTP statuses.
func startHTTP(t testing.TB, c *collector, status func() (int, string)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/logs" || r.Method != http.MethodPost {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		data, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if status != nil {
			if code, ra := status(); code != 0 {
				if ra != "" {
					w.Header().Set("Retry-After", ra)
				}
				http.Error(w, "refused", code)
				return
			}
		}
		req := plogotlp.NewExportRequest()
		isJSON := r.Header.Get("Content-Type") == "application/json"
		if isJSON {
			err = req.UnmarshalJSON(data)
		} else {
			err = req.UnmarshalProto(data)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp, err := c.take(req.Logs(), r.Header.Get("X-Api-Key"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		var out []byte
		if isJSON {
			out, _ = resp.MarshalJSON()
			w.Header().Set("Content-Type", "application/json")
		} else {
			out, _ = resp.MarshalProto()
			w.Header().Set("Content-Type", "application/x-protobuf")
		}
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func newSink(t testing.TB, mod func(*Config)) *Sink {
	t.Helper()
	c := defaultConfig()
	mod(c)
	return httpbatchtest.StartSink(t, pipeline.Settings{Name: "otel"}, c, func(set pipeline.Settings, c *Config) (*Sink, error) {
		return New(set, c), nil
	})
}

func manyEvents(t testing.TB, n int) []pipeline.Event {
	base := loadEvents(t)
	evs := make([]pipeline.Event, n)
	for i := range evs {
		ev := base[i%len(base)]
		ev.ID = fmt.Sprintf("ev-%06d", i)
		evs[i] = ev
	}
	return evs
}

func sorted(ids []string) string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return strings.Join(ids, ",")
}

func ids(evs []pipeline.Event) string {
	s := make([]string, len(evs))
	for i := range evs {
		s[i] = evs[i].ID
	}
	return strings.Join(s, ",")
}

func TestDeliverAllProtocols(t *testing.T) {
	for _, proto := range []string{ProtocolGRPC, ProtocolHTTPProtobuf, ProtocolHTTPJSON} {
		for _, comp := range []string{"gzip", "none"} {
			t.Run(proto+"/"+comp, func(t *testing.T) {
				c := &collector{}
				var endpoint string
				if proto == ProtocolGRPC {
					endpoint = startGRPC(t, c)
				} else {
					endpoint = startHTTP(t, c, nil)
				}
				s := newSink(t, func(cfg *Config) {
					cfg.Protocol, cfg.Endpoint, cfg.Compression = proto, endpoint, comp
					cfg.MaxRecords = 100
					cfg.Headers = map[string]pipeline.Secret{"X-Api-Key": "k3y"}
				})
				evs := manyEvents(t, 250)
				if err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: evs}); err != nil {
					t.Fatal(err)
				}
				if got := sorted(c.received()); got != ids(evs) {
					t.Errorf("received %d ids, not the batch", len(c.received()))
				}
				if c.requests != 3 {
					t.Errorf("requests = %d, want 3 (max_records 100)", c.requests)
				}
				for _, h := range c.headers {
					if h != "k3y" {
						t.Errorf("header x-api-key = %q", h)
					}
				}
				// An empty batch (everything filtered) is acknowledged
				// without a request.
				if err := s.Consume(context.Background(), pipeline.Batch{Source: "acme"}); err != nil || c.requests != 3 {
					t.Errorf("empty batch: err %v, requests %d", err, c.requests)
				}
			})
		}
	}
}

func TestSplitByBytes(t *testing.T) {
	c := &collector{}
	// One request at a time: the records arrive in the batch's order.
	s := newSink(t, func(cfg *Config) { cfg.Endpoint = startGRPC(t, c); cfg.MaxBytes = 1500; cfg.MaxConcurrentRequests = 1 })
	evs := manyEvents(t, 20)
	if err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: evs}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.received(), ","); got != ids(evs) {
		t.Errorf("received %v", c.received())
	}
	if c.requests < 5 {
		t.Errorf("requests = %d, want the batch split by max_bytes", c.requests)
	}
}

func withRetryInfo(code codes.Code, d time.Duration) error {
	st, _ := status.New(code, "slow down").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(d)})
	return st.Err()
}

func partial(n int64) plogotlp.ExportResponse {
	r := plogotlp.NewExportResponse()
	r.PartialSuccess().SetRejectedLogRecords(n)
	r.PartialSuccess().SetErrorMessage("record too large")
	return r
}

func TestGRPCErrors(t *testing.T) {
	tests := []struct {
		name  string
		reply func(int) (plogotlp.ExportResponse, error)
		want  string
	}{
		{"unavailable", func(int) (plogotlp.ExportResponse, error) {
			return plogotlp.NewExportResponse(), status.Error(codes.Unavailable, "down")
		}, "retry"},
		{"unavailable with retry info", func(int) (plogotlp.ExportResponse, error) {
			return plogotlp.NewExportResponse(), withRetryInfo(codes.Unavailable, 3*time.Second)
		}, "retry after 3s"},
		{"resource exhausted with retry info", func(int) (plogotlp.ExportResponse, error) {
			return plogotlp.NewExportResponse(), withRetryInfo(codes.ResourceExhausted, 2*time.Second)
		}, "retry after 2s"},
		{"resource exhausted without retry info", func(int) (plogotlp.ExportResponse, error) {
			return plogotlp.NewExportResponse(), status.Error(codes.ResourceExhausted, "too big")
		}, "permanent"},
		{"unauthenticated", func(int) (plogotlp.ExportResponse, error) {
			return plogotlp.NewExportResponse(), status.Error(codes.Unauthenticated, "bad key")
		}, "permanent"},
		{"invalid argument", func(int) (plogotlp.ExportResponse, error) {
			return plogotlp.NewExportResponse(), status.Error(codes.InvalidArgument, "bad")
		}, "permanent"},
		{"partial success", func(int) (plogotlp.ExportResponse, error) { return partial(1), nil }, "rejected 10"},
		{"warning only", func(int) (plogotlp.ExportResponse, error) {
			r := plogotlp.NewExportResponse()
			r.PartialSuccess().SetErrorMessage("deprecated field")
			return r, nil
		}, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &collector{reply: tt.reply}
			s := newSink(t, func(cfg *Config) {
				cfg.Endpoint = startGRPC(t, c)
				cfg.Headers = map[string]pipeline.Secret{"x-api-key": "s3cr3t-value"}
			})
			err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: manyEvents(t, 10)})
			httpbatchtest.WantOutcome(t, err, tt.want)
			if err != nil && strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error leaks a header value: %v", err)
			}
		})
	}
}

func TestHTTPErrors(t *testing.T) {
	tests := []struct {
		code int
		ra   string
		want string
	}{
		{429, "7", "retry after 7s"},
		{503, "", "retry"},
		{502, "1", "retry after 1s"},
		{504, "", "retry"},
		{400, "", "permanent"},
		{401, "", "permanent"},
		{403, "", "permanent"},
		{404, "", "permanent"},
		{413, "", "rejected 3"}, // split down to single records, each refused
		{500, "", "permanent"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			c := &collector{}
			url := startHTTP(t, c, func() (int, string) { return tt.code, tt.ra })
			s := newSink(t, func(cfg *Config) { cfg.Protocol, cfg.Endpoint = ProtocolHTTPProtobuf, url })
			err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: manyEvents(t, 3)})
			httpbatchtest.WantOutcome(t, err, tt.want)
		})
	}
	t.Run("partial success over http/json", func(t *testing.T) {
		c := &collector{reply: func(int) (plogotlp.ExportResponse, error) { return partial(2), nil }}
		url := startHTTP(t, c, nil)
		s := newSink(t, func(cfg *Config) { cfg.Protocol, cfg.Endpoint = ProtocolHTTPJSON, url })
		err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: manyEvents(t, 4)})
		httpbatchtest.WantOutcome(t, err, "rejected 4")
	})
	t.Run("a redirect is not followed", func(t *testing.T) {
		// Go forwards every header to another port of the same host.
		var stolen atomic.Int64
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Api-Key") != "" {
				stolen.Add(1)
			}
		}))
		defer other.Close()
		front := httptest.NewServer(http.RedirectHandler(other.URL+"/v1/logs", http.StatusTemporaryRedirect))
		defer front.Close()
		s := newSink(t, func(cfg *Config) {
			cfg.Protocol, cfg.Endpoint = ProtocolHTTPProtobuf, front.URL+"/v1/logs"
			cfg.Headers = map[string]pipeline.Secret{"x-api-key": "canary-key"}
		})
		err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: manyEvents(t, 1)})
		httpbatchtest.WantOutcome(t, err, "permanent")
		if n := stolen.Load(); n != 0 {
			t.Fatalf("the key header reached the redirect's target %d times", n)
		}
	})
	t.Run("connection refused is retryable", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		s := newSink(t, func(cfg *Config) { cfg.Protocol, cfg.Endpoint = ProtocolHTTPProtobuf, "http://"+addr })
		err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: manyEvents(t, 1)})
		httpbatchtest.WantOutcome(t, err, "retry")
	})
}

// TestCollectorOutage stops the gRPC server mid-run: Consume fails
// retryably while it is down and delivers everything once it is back.
// handoff owns one listening port for a test's whole life and hands each
// connection to the server of the moment; between servers (an outage) it
// closes them at once. A collector can so stop and come back on the same
// address without the port being closed and bound again.
type handoff struct {
	ln   net.Listener
	mu   sync.Mutex
	to   chan net.Conn // the current server's listener; nil while down
	took chan struct{} // a connection reached a server
}

func newHandoff(t *testing.T) *handoff {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &handoff{ln: ln, took: make(chan struct{}, 64)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			to := h.to
			h.mu.Unlock()
			if to == nil {
				conn.Close()
				continue
			}
			to <- conn
			select {
			case h.took <- struct{}{}:
			default:
			}
		}
	}()
	return h
}

// serve starts a collector's gRPC server on the port; stop ends it and
// the outage begins.
func (h *handoff) serve(c *collector) (stop func()) {
	l := &chanListener{conns: make(chan net.Conn), done: make(chan struct{}), addr: h.ln.Addr()}
	h.mu.Lock()
	h.to = l.conns
	h.mu.Unlock()
	srv := serveGRPC(l, c)
	return func() {
		h.mu.Lock()
		h.to = nil
		h.mu.Unlock()
		srv.Stop()
	}
}

// chanListener is a net.Listener fed by a handoff.
type chanListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	addr  net.Addr
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *chanListener) Addr() net.Addr { return l.addr }

func TestCollectorOutage(t *testing.T) {
	h := newHandoff(t)
	c := &collector{}
	stop := h.serve(c)
	s := newSink(t, func(cfg *Config) { cfg.Endpoint = h.ln.Addr().String(); cfg.Timeout = 2 * time.Second })
	evs := manyEvents(t, 30)
	if err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: evs[:10]}); err != nil {
		t.Fatal(err)
	}
	stop()
	err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: evs[10:20]})
	if got := httpbatchtest.Outcome(err); got != "retry" {
		t.Fatalf("while down: outcome %q (%v), want retry", got, err)
	}
	for len(h.took) > 0 {
		<-h.took
	}
	defer h.serve(c)()
	// The runner retries with backoff. Here a retry follows a connection
	// reaching the collector again, or, while gRPC waits out its own
	// reconnection backoff (it tried during the outage), a second.
	for _, b := range [][]pipeline.Event{evs[10:20], evs[20:]} {
		for attempt := 0; ; attempt++ {
			err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: b})
			if err == nil {
				break
			}
			if pipeline.IsPermanent(err) || attempt == 20 {
				t.Fatalf("attempt %d: %v", attempt, err)
			}
			select {
			case <-h.took:
			case <-time.After(time.Second):
			}
		}
	}
	if got := sorted(c.received()); got != ids(evs) {
		t.Errorf("after the outage: received %d of %d", len(c.received()), len(evs))
	}
}

func TestConcurrentConsume(t *testing.T) {
	c := &collector{}
	s := newSink(t, func(cfg *Config) { cfg.Endpoint = startGRPC(t, c) })
	evs := manyEvents(t, 400)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			b := pipeline.Batch{Source: fmt.Sprint("src", i), Events: evs[i*100 : (i+1)*100]}
			if err := s.Consume(context.Background(), b); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(c.received()); n != 400 {
		t.Errorf("received %d, want 400", n)
	}
}

func TestLifecycle(t *testing.T) {
	s := New(pipeline.Settings{Name: "x"}, defaultConfig())
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("shutdown before start: %v", err)
	}
	if err := s.Consume(context.Background(), pipeline.Batch{Events: manyEvents(t, 1)}); !pipeline.IsPermanent(err) {
		t.Errorf("consume before start: %v, want a permanent error", err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}
}

// TestOneRequestFails fails one of the concurrent requests of a batch: the
// batch fails with that request's (retryable) error, not with the
// cancellation of its siblings.
func TestOneRequestFails(t *testing.T) {
	calls := 0
	c := &collector{reply: func(int) (plogotlp.ExportResponse, error) {
		calls++
		if calls == 2 {
			return plogotlp.NewExportResponse(), withRetryInfo(codes.Unavailable, time.Second)
		}
		return plogotlp.NewExportResponse(), nil
	}}
	s := newSink(t, func(cfg *Config) { cfg.Endpoint = startGRPC(t, c); cfg.MaxRecords = 10 })
	err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: manyEvents(t, 100)})
	if got := httpbatchtest.Outcome(err); got != "retry after 1s" {
		t.Errorf("outcome %q (%v), want the failed request's retry", got, err)
	}
}

// TestTooLargeSplits: a receiver with a small max message size refuses the
// big requests; the sink halves them until they pass, and a record that is
// too large on its own goes to the dead-letter path.
func TestTooLargeSplits(t *testing.T) {
	c := &collector{}
	s := newSink(t, func(cfg *Config) {
		cfg.Endpoint = startGRPC(t, c, grpc.MaxRecvMsgSize(16<<10))
		cfg.Compression = "none"
	})
	evs := manyEvents(t, 100)
	big := evs[7]
	big.ID = "big"
	big.Raw = []byte(`{"id":"big","type":"x","pad":"` + strings.Repeat("y", 20<<10) + `"}`)
	evs[7] = big
	err := s.Consume(context.Background(), pipeline.Batch{Source: "acme", Events: evs})
	httpbatchtest.WantRejected(t, err, "big")
	if n := len(c.received()); n != 99 {
		t.Errorf("received %d, want 99", n)
	}
}
