package benchkit

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Build makes a new temporary directory (pattern as for os.MkdirTemp) and
// compiles into it each package of pkgs (name -> package path, such as
// "./cmd/auditrelay", resolved from the current directory) as a binary of
// that name, with flags passed to go build. It returns the directory, for
// the caller's other files and for the caller to remove, and the binaries'
// paths by name.
func Build(pattern string, pkgs map[string]string, flags ...string) (dir string, bins map[string]string, err error) {
	if dir, err = os.MkdirTemp("", pattern); err != nil {
		return "", nil, err
	}
	bins = map[string]string{}
	for name, pkg := range pkgs {
		p := filepath.Join(dir, name)
		args := append(append([]string{"build"}, flags...), "-o", p, pkg)
		if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
			os.RemoveAll(dir)
			return "", nil, fmt.Errorf("building %s: %v\n%s", pkg, err, out)
		}
		bins[name] = p
	}
	return dir, bins, nil
}

// Broker is a kfake broker (test/kfakebroker) in its own process.
type Broker struct {
	Cmd  *exec.Cmd
	Addr string // the host:port it listens on
}

// StartBroker runs the kfakebroker binary bin on a port it binds itself,
// with topics of partitions partitions each, and returns once the broker
// printed the address it listens on.
func StartBroker(bin string, partitions int, topics ...string) (*Broker, error) {
	b := &Broker{Cmd: exec.Command(bin, "-port", "0", "-partitions", strconv.Itoa(partitions), "-topics", strings.Join(topics, ","))}
	stderr := &Output{}
	b.Cmd.Stderr = stderr
	stdout, err := b.Cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := b.Cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Stop()
		return nil, fmt.Errorf("kfakebroker printed no address: %v\n%s", err, stderr.String())
	}
	b.Addr = strings.TrimSpace(line)
	return b, nil
}

// Stop kills the broker and waits for it to exit.
func (b *Broker) Stop() {
	b.Cmd.Process.Kill()
	b.Cmd.Wait()
}

// OtelcolBin is the OpenTelemetry Collector the harnesses run: the one
// named by AUDITRELAY_OTELCOL, else the one test/e2e/build-collector.sh
// builds below root (the module root).
func OtelcolBin(root string) string {
	if p := os.Getenv("AUDITRELAY_OTELCOL"); p != "" {
		return p
	}
	return filepath.Join(root, "test", ".cache", "otelcol", "otelcol-auditrelay")
}

// Revision names the code a report measured, as `git describe --always
// --dirty` says it in the current directory (a commit, "-dirty" when the
// working tree has changes), or "an unknown commit" outside a git clone.
func Revision() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		return "an unknown commit"
	}
	return string(bytes.TrimSpace(out))
}

// CPUModel is the model name of the machine's processor, as a report
// states it.
func CPUModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for l := range strings.SplitSeq(string(data), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// BackfillConfig is the auditrelay config of the benchmarks' back-fills:
// every event of the simulator at base (800h back, no settle), through the
// transforms section given ("transforms: []" for none), into the one sink
// out (sink: its keys, each line indented four spaces), the cursor in a
// file of the directory state, logging as the log keys say ("level: warn").
func BackfillConfig(base, transforms, sink, log string) string {
	return fmt.Sprintf(`sources:
  - name: bench
    type: openai_audit_logs
    base_url: %s
    api_key: sk-admin-bench
    start_at: 800h
    settle: 0s
%s
sinks:
  - name: out
%s
checkpoint:
  type: file
  dir: state
log:
  %s
`, base, transforms, sink, log)
}
