// Package benchkit holds what the benchmark, chaos and system-test programs
// share: the addresses a process bound (read from its output, so that no
// port is picked free and then raced for), and rewriting the generated
// section of a markdown report.
package benchkit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Output collects what a process writes (give it as the process's Stdout
// or Stderr). Every Write wakes those waiting in Await, which need not poll.
type Output struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{} // closed at the next Write
}

// Write implements io.Writer.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.wrote != nil {
		close(o.wrote)
		o.wrote = nil
	}
	return o.b.Write(p)
}

// String returns everything written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// Await waits up to d for re to match the output and returns the
// submatches of its first match. It checks at once, then after each Write.
func (o *Output) Await(re *regexp.Regexp, d time.Duration) ([]string, error) {
	var m []string
	err := o.Until(func(out string) bool { m = re.FindStringSubmatch(out); return m != nil }, d)
	if err != nil {
		return nil, fmt.Errorf("nothing matches %q: %w", re, err)
	}
	return m, nil
}

// Until waits up to d for cond to hold. It checks cond (given the output so
// far) at once, then after each Write: for a condition that changes with
// what the process does, when the process logs what it does.
func (o *Output) Until(cond func(out string) bool, d time.Duration) error {
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		o.mu.Lock()
		if o.wrote == nil {
			o.wrote = make(chan struct{})
		}
		wrote := o.wrote // taken before cond: a Write during cond ends the next wait
		o.mu.Unlock()
		if cond(o.String()) {
			return nil
		}
		select {
		case <-wrote:
		case <-timeout.C:
			return fmt.Errorf("gave up after %v; the output ends:\n%s", d, tail(o.String(), 4000))
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// The OTLP receiver of an OpenTelemetry Collector logs the address each of
// its servers bound, so a collector configured with port 0 says which port
// it got.
var (
	collectorGRPC = regexp.MustCompile(`Starting GRPC server\t.*"endpoint": "([^"]+)"`)
	collectorHTTP = regexp.MustCompile(`Starting HTTP server\t.*"endpoint": "([^"]+)"`)
)

// CollectorAddrs waits up to d for the collector whose stderr is out to
// log the host:port its OTLP receiver's gRPC and HTTP servers listen on.
func CollectorAddrs(out *Output, d time.Duration) (grpc, http string, err error) {
	deadline := time.Now().Add(d)
	g, err := out.Await(collectorGRPC, d)
	if err != nil {
		return "", "", fmt.Errorf("collector gRPC server: %w", err)
	}
	h, err := out.Await(collectorHTTP, max(time.Until(deadline), 0))
	if err != nil {
		return "", "", fmt.Errorf("collector HTTP server: %w", err)
	}
	return g[1], h[1], nil
}

// simServing is the line `auditrelay simulate` prints on stdout once it
// listens, with the address it bound.
var simServing = regexp.MustCompile(`simulator serving .* at http://(\S+)/v1`)

// SimulatorAddr waits up to d for `auditrelay simulate` (its stdout is
// out; start it with --listen 127.0.0.1:0) to print the address it serves.
func SimulatorAddr(out *Output, d time.Duration) (string, error) {
	m, err := out.Await(simServing, d)
	if err != nil {
		return "", fmt.Errorf("simulator: %w", err)
	}
	return m[1], nil
}

// RewriteSection replaces the text between the marks <!-- name:begin -->
// and <!-- name:end --> of the markdown file at path with section, keeping
// the hand-written text around it; a file without the marks gets them at
// its end, and a missing file is created.
func RewriteSection(path, name, section string) error {
	begin, end := "<!-- "+name+":begin -->", "<!-- "+name+":end -->"
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	s := string(data)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		s += "\n" + begin + "\n" + end + "\n"
		i, j = strings.Index(s, begin), strings.Index(s, end)
	}
	s = s[:i+len(begin)] + "\n" + section + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
