package benchkit

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"testing/synctest"
	"time"
)

func TestRewriteSection(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.md")
	if err := RewriteSection(p, "x", "one\n"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("head\n<!-- x:begin -->\nold\n<!-- x:end -->\ntail\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := RewriteSection(p, "x", "new\n"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	if want := "head\n<!-- x:begin -->\nnew\n<!-- x:end -->\ntail\n"; string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestOutputAwait runs in a synctest bubble: Await returns when the line
// is written, not at a polling tick, and gives up exactly at its timeout.
func TestOutputAwait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out Output
		go func() {
			fmt.Fprintln(&out, "starting")
			time.Sleep(time.Second)
			fmt.Fprintln(&out, "listening on 127.0.0.1:4321")
		}()
		begin := time.Now()
		m, err := out.Await(regexp.MustCompile(`listening on (\S+)`), time.Hour)
		if err != nil || m[1] != "127.0.0.1:4321" {
			t.Fatalf("Await = %q, %v", m, err)
		}
		if took := time.Since(begin); took != time.Second {
			t.Fatalf("Await returned %v after the start, want 1s: when the line was written", took)
		}
		begin = time.Now()
		if m, err := out.Await(regexp.MustCompile(`ready`), time.Minute); err == nil || time.Since(begin) != time.Minute {
			t.Fatalf("Await = %q, %v after %v; want an error after the 1m timeout", m, err, time.Since(begin))
		}
	})
}

func TestCollectorAddrs(t *testing.T) {
	// Lines of otelcol-auditrelay 0.161.0 started with OTELCOL_GRPC_PORT=0
	// and OTELCOL_HTTP_PORT=0 (resource attributes shortened).
	var out Output
	out.Write([]byte("2026-12-05T22:04:16.838Z\tinfo\totlpreceiver@v0.161.0/otlp.go:120\tStarting GRPC server\t" +
		`{"resource": {"service.name": "otelcol-auditrelay"}, "otelcol.component.id": "otlp", "otelcol.component.kind": "receiver", "endpoint": "127.0.0.1:41919"}` + "\n"))
	out.Write([]byte("2026-12-05T22:04:16.839Z\tinfo\totlpreceiver@v0.161.0/otlp.go:175\tStarting HTTP server\t" +
		`{"resource": {"service.name": "otelcol-auditrelay"}, "otelcol.component.id": "otlp", "otelcol.component.kind": "receiver", "endpoint": "127.0.0.1:34889"}` + "\n"))
	grpc, http, err := CollectorAddrs(&out, time.Second)
	if err != nil || grpc != "127.0.0.1:41919" || http != "127.0.0.1:34889" {
		t.Fatalf("CollectorAddrs = %q, %q, %v; want 127.0.0.1:41919 and 127.0.0.1:34889", grpc, http, err)
	}
}

func TestSimulatorAddr(t *testing.T) {
	// The line of `auditrelay simulate --listen 127.0.0.1:0` (simulate.go).
	var out Output
	fmt.Fprintf(&out, "simulator serving %d audit events at http://%s/v1, counters at http://%s/_sim/stats (Ctrl-C stops)\n", 1000, "127.0.0.1:38211", "127.0.0.1:38211")
	if addr, err := SimulatorAddr(&out, time.Second); err != nil || addr != "127.0.0.1:38211" {
		t.Fatalf("SimulatorAddr = %q, %v; want 127.0.0.1:38211", addr, err)
	}
}
