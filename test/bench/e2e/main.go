// Command e2e is the end-to-end benchmark behind BENCHMARKS.md: the built
// auditrelay binary against the programs a user would otherwise run, each in
// its own process, fetching the same simulated organization over HTTP from a
// simulator process. Every job runs -repeat times, the jobs taking turns
// round by round; the table reports the median run (by wall time) and the
// spread. CPU seconds and peak RSS come from the kernel's rusage of the
// measured process.
//
//	go run ./test/bench/e2e -events 1000000 -repeat 3 -write BENCHMARKS.md
//
// Jobs: the bare pager (the floor), auditrelay --once with the default
// transform chain (enrich, redact) into a file (also under GOMEMLIMIT=40MiB,
// the memory knob the docs give), a Kafka broker (kfake in its own process)
// and an OpenTelemetry Collector, kcat -P of the same JSONL to
// the same broker, the bare pager piped into kcat -P, and Redpanda Benthos
// v4 (http_client -> mapping -> file). Then the scaling series and the
// steady-tail latency.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/auditrelay/auditrelay/test/internal/benchkit"
)

type options struct {
	events, repeat int
	scale          []int
	tailRate       float64
	tailFor        time.Duration
	write, jobs    string
	profileDir     string
}

func main() {
	var o options
	var scale string
	flag.IntVar(&o.events, "events", 1000000, "events the simulator holds for the main comparison")
	flag.IntVar(&o.repeat, "repeat", 3, "runs of each job; the median is reported")
	flag.StringVar(&scale, "scale", "100000,1000000,5000000", "event counts of the scaling series (empty: none)")
	flag.Float64Var(&o.tailRate, "tail-rate", 50, "events per second of the steady-tail test (0: none)")
	flag.DurationVar(&o.tailFor, "tail-for", 60*time.Second, "length of the steady-tail test")
	flag.StringVar(&o.write, "write", "", "rewrite the generated section of this markdown file")
	flag.StringVar(&o.jobs, "jobs", "", "comma-separated subset of jobs (default all)")
	flag.StringVar(&o.profileDir, "profile-dir", "", "keep CPU and allocation profiles of the auditrelay runs here")
	flag.Parse()
	for s := range strings.SplitSeq(scale, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n > 0 {
			o.scale = append(o.scale, n)
		}
	}
	if err := run(o, strings.Join(os.Args[1:], " ")); err != nil {
		fmt.Fprintln(os.Stderr, "bench e2e:", err)
		os.Exit(1)
	}
}

// result is one measured run.
type result struct {
	wall   time.Duration
	cpu    time.Duration
	rssMiB float64
	events int
	bytes  int64
	refCPU time.Duration // CPU of a peer process the job needs (collector)
}

type bench struct {
	o       options
	work    string
	bin     map[string]string
	simBase string
	sim     *exec.Cmd
	broker  string
	col     *collector
	// deadCollector is a listener that is never served: the address of
	// an OpenTelemetry Collector that is down for the whole run.
	deadCollector net.Listener
	rawSize       int64 // bytes of the JSONL the bare pager wrote
	out           *strings.Builder
}

func run(o options, args string) error {
	work, bin, err := benchkit.Build("auditrelay-bench-*", map[string]string{"auditrelay": "./cmd/auditrelay", "barepager": "./test/bench/barepager", "kfakebroker": "./test/kfakebroker"}, "-trimpath")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	b := &bench{o: o, work: work, bin: bin, out: new(strings.Builder)}
	defer b.stopAll()
	if err := b.peers(); err != nil {
		return err
	}
	fmt.Fprintf(b.out, "Measured %s on %s, commit %s; command: `go run ./test/bench/e2e %s` (make bench-e2e).\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), machine(), benchkit.Revision(), args)

	if err := b.startSim(o.events, 0); err != nil {
		return err
	}
	if err := b.main(); err != nil {
		return err
	}
	b.stopSim()
	if len(o.scale) > 0 {
		if err := b.scaling(); err != nil {
			return err
		}
	}
	if o.tailRate > 0 && o.tailFor > 0 {
		if err := b.tail(); err != nil {
			return err
		}
	}
	fmt.Print(b.out.String())
	if o.write != "" {
		return benchkit.RewriteSection(o.write, "bench-e2e", b.out.String())
	}
	return nil
}

func machine() string {
	return fmt.Sprintf("%d cores (nproc), %s, %s %s/%s", runtime.NumCPU(), benchkit.CPUModel(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// peers finds the peers' programs (the collector, Benthos), building
// Benthos when it is not cached.
func (b *bench) peers() error {
	root, _ := os.Getwd()
	// Benthos is its own module; its binary is cached with the collector's.
	p := filepath.Join(root, "test", ".cache", "benthos", "benthos")
	if _, err := os.Stat(p); err != nil && b.want("benthos") {
		cmd := exec.Command("go", "build", "-trimpath", "-o", p, ".")
		cmd.Dir = filepath.Join(root, "test", "benthos")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building the Benthos peer (test/benthos): %v\n%s", err, out)
		}
	}
	b.bin["benthos"] = p
	b.bin["otelcol"] = benchkit.OtelcolBin(root)
	return nil
}

func (b *bench) want(job string) bool {
	if b.o.jobs == "" {
		return true
	}
	return slices.Contains(strings.Split(b.o.jobs, ","), job)
}

// startSim serves n historical events (and rate new ones per second) on a
// port the simulator binds itself and prints.
func (b *bench) startSim(n int, rate float64) error {
	b.sim = exec.Command(b.bin["auditrelay"], "simulate", "--listen", "127.0.0.1:0", "--events", strconv.Itoa(n),
		"--org-logs", "0", "--rate", fmt.Sprint(rate), "--span", "720h", "--seed", "1")
	out := &benchkit.Output{}
	b.sim.Stdout = out
	if err := b.sim.Start(); err != nil {
		return err
	}
	addr, err := benchkit.SimulatorAddr(out, 30*time.Second)
	if err != nil {
		b.stopSim()
		return err
	}
	b.simBase = "http://" + addr + "/v1"
	return nil
}

func (b *bench) stopSim() {
	if b.sim != nil && b.sim.Process != nil {
		b.sim.Process.Kill()
		b.sim.Wait()
	}
	b.sim = nil
}

func (b *bench) stopAll() {
	b.stopSim()
	if b.col != nil {
		b.col.stop()
	}
}

// measure runs cmd to completion and returns its wall time and rusage.
func measure(cmd *exec.Cmd) (result, error) {
	var stderr bytes.Buffer
	if cmd.Stderr == nil {
		cmd.Stderr = &stderr
	}
	t0 := time.Now()
	err := cmd.Run()
	r := result{wall: time.Since(t0)}
	if ps := cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			r.rssMiB = float64(ru.Maxrss) / 1024
		}
	}
	if err != nil {
		return r, fmt.Errorf("%s: %v\n%s", filepath.Base(cmd.Path), err, tailOf(stderr.String(), 2000))
	}
	return r, nil
}

func tailOf(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// countLines returns the lines and bytes of a file.
func countLines(path string) (int, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	n, size := 0, int64(0)
	for {
		k, err := f.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		size += int64(k)
		if err == io.EOF {
			return n, size, nil
		}
		if err != nil {
			return 0, 0, err
		}
	}
}

// config returns an auditrelay config fetching from the simulator with the
// default transform chain (or none) into the sink section given, with the
// top-level sections of extra.
func (b *bench) config(dir, sink string, transforms bool, extra string) (string, error) {
	tr := "transforms: []"
	if transforms {
		tr = fmt.Sprintf(`transforms:
  - name: enrich
    type: enrich
    base_url: %s
    api_key: sk-admin-bench
  - name: redact
    type: redact`, b.simBase)
	}
	yaml := benchkit.BackfillConfig(b.simBase, tr, sink, "level: warn") + extra
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(dir, "auditrelay.yaml")
	return p, os.WriteFile(p, []byte(yaml), 0o600)
}

// auditrelay runs `run --once` with a fresh state directory.
func (b *bench) auditrelay(name, sink string, transforms bool) (result, string, error) {
	return b.auditrelayWith(name, sink, transforms, "")
}

// auditrelayWith is auditrelay with the top-level sections of extra in
// the config, its environment added to by env ("GOMEMLIMIT=40MiB").
func (b *bench) auditrelayWith(name, sink string, transforms bool, extra string, env ...string) (result, string, error) {
	dir := filepath.Join(b.work, name)
	os.RemoveAll(dir)
	cfg, err := b.config(dir, sink, transforms, extra)
	if err != nil {
		return result{}, "", err
	}
	cmd := b.runCommand(name, cfg)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	r, err := measure(cmd)
	return r, dir, err
}

// runCommand is `auditrelay run --once` of the config file cfg, profiled
// under name when -profile-dir is set.
func (b *bench) runCommand(name, cfg string) *exec.Cmd {
	args := []string{"run", "-c", cfg, "--once"}
	if b.o.profileDir != "" {
		os.MkdirAll(b.o.profileDir, 0o755)
		args = append(args, "--cpuprofile", filepath.Join(b.o.profileDir, name+".cpu.pprof"), "--memprofile", filepath.Join(b.o.profileDir, name+".allocs.pprof"))
	}
	return exec.Command(b.bin["auditrelay"], args...)
}

// fileJob runs auditrelay into the file sink of sink and counts what it
// wrote.
func (b *bench) fileJob(name, sink string, transforms bool, extra string, env ...string) func() (result, error) {
	return func() (result, error) {
		r, dir, err := b.auditrelayWith(name, sink, transforms, extra, env...)
		if err != nil {
			return r, err
		}
		r.events, r.bytes, err = countLines(filepath.Join(dir, "audit.jsonl"))
		return r, err
	}
}

// telemetryDown is the telemetry section of the job whose OpenTelemetry
// Collector is down: traces of every window and metrics every second,
// pushed over OTLP/gRPC to addr, where a listener takes connections (the
// kernel completes the handshake) but nothing ever answers. It is the
// harder outage: a stopped process would refuse at once, a hung one makes
// every export wait for its timeout.
func telemetryDown(addr string) string {
	return fmt.Sprintf(`telemetry:
  otlp:
    endpoint: http://%s
    protocol: grpc
    interval: 1s
  traces:
    enabled: true
    sampling_ratio: 1
`, addr)
}

// detectJob is the file job with the detect transform and its default
// pack after enrich and redact: the archive takes the events, a second
// file sink the alerts alone (accept), so that its events are the file
// job's and the two compare.
func (b *bench) detectJob() (result, error) {
	dir := filepath.Join(b.work, "file-detect")
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return result{}, err
	}
	transforms := fmt.Sprintf(`transforms:
  - name: enrich
    type: enrich
    base_url: %s
    api_key: sk-admin-bench
  - name: redact
    type: redact
  - name: detect
    type: detect`, b.simBase)
	sinks := "    type: file\n    path: audit.jsonl\n    accept:\n      exclude_types: [auditrelay.alert]\n" +
		"  - name: alerts\n    type: file\n    path: alerts.jsonl\n    accept:\n      types: [auditrelay.alert]"
	cfg := filepath.Join(dir, "auditrelay.yaml")
	if err := os.WriteFile(cfg, []byte(benchkit.BackfillConfig(b.simBase, transforms, sinks, "level: warn")), 0o600); err != nil {
		return result{}, err
	}
	r, err := measure(b.runCommand("file-detect", cfg))
	if err != nil {
		return r, err
	}
	r.events, r.bytes, err = countLines(filepath.Join(dir, "audit.jsonl"))
	if alerts, _, aerr := countLines(filepath.Join(dir, "alerts.jsonl")); aerr == nil {
		fmt.Fprintf(os.Stderr, "detect: %d alerts\n", alerts)
	}
	return r, err
}

// job is one line of the main table.
type job struct {
	name, ref string // ref: the name of the job it is compared with
	note      string
	run       func() (result, error)
}

func (b *bench) main() error {
	bareOut := filepath.Join(b.work, "bare.jsonl")
	fileSink := "    type: file\n    path: audit.jsonl"
	fileJob := func(name string, transforms bool) func() (result, error) {
		return b.fileJob(name, fileSink, transforms, "")
	}
	jobs := []job{
		{name: "bare pager -> file", note: "the floor: raw pages, no windows, checkpoints or transforms", run: func() (result, error) {
			r, err := measure(exec.Command(b.bin["barepager"], "--base-url", b.simBase, "--out", bareOut))
			if err != nil {
				return r, err
			}
			r.events, r.bytes, err = countLines(bareOut)
			b.rawSize = r.bytes
			return r, err
		}},
		{name: "auditrelay -> file", ref: "bare pager -> file", note: "enrich + redact", run: fileJob("file", true)},
		{name: "auditrelay -> file, no transforms", ref: "bare pager -> file", run: fileJob("file-plain", false)},
		// No transforms: the telemetry's cost is then the largest share
		// of the run it can be.
		{name: "auditrelay -> file, no transforms, telemetry collector down", ref: "auditrelay -> file, no transforms",
			note: "traces of every window and metrics every 1 s over OTLP/gRPC to a listener never served",
			run: func() (result, error) {
				return b.fileJob("file-telemetry-down", fileSink, false, telemetryDown(b.deadCollector.Addr().String()))()
			}},
		{name: "auditrelay -> file, GOMEMLIMIT=40MiB", ref: "auditrelay -> file",
			note: "enrich + redact under Go's soft memory limit, the knob docs/operations.md gives", run: b.fileJob("file-memlimit", fileSink, true, "", "GOMEMLIMIT=40MiB")},
		{name: "auditrelay -> file, detect", ref: "auditrelay -> file", note: "enrich + redact + detect (default pack), alerts to a second file", run: b.detectJob},
		{name: "Benthos v4 http_client -> mapping -> file", note: "polls the first page over and over: no cursor, so less work than a backfill", run: b.benthos},
		{name: "auditrelay -> file (vs Benthos)", ref: "Benthos v4 http_client -> mapping -> file", note: "same run as auditrelay -> file", run: nil},
		{name: "kcat -P (JSONL file -> kfake)", note: "produce only: no API, acks=all, idempotent, snappy", run: b.kcat(bareOut, false)},
		{name: "bare pager piped to kcat -P", note: "fetch + produce", run: b.kcat(bareOut, true)},
		{name: "auditrelay -> Kafka (kfake)", ref: "bare pager piped to kcat -P", note: "enrich + redact, acks=all, snappy", run: b.kafkaJob(true)},
		{name: "auditrelay -> Kafka, no transforms", ref: "bare pager piped to kcat -P", run: b.kafkaJob(false)},
		{name: "auditrelay -> OTLP collector (gRPC)", ref: "auditrelay -> file", note: "enrich + redact, compression none (loopback agent); the collector's CPU is extra, on the same 2 cores", run: b.otlpJob},
	}
	keys := map[string]string{
		"bare pager -> file": "bare", "auditrelay -> file": "file", "auditrelay -> file, detect": "detect", "auditrelay -> file, GOMEMLIMIT=40MiB": "memlimit", "auditrelay -> file, no transforms": "file|telemetry",
		"Benthos v4 http_client -> mapping -> file": "benthos", "auditrelay -> file (vs Benthos)": "file",
		"kcat -P (JSONL file -> kfake)": "kafka", "bare pager piped to kcat -P": "kafka", "auditrelay -> Kafka (kfake)": "kafka",
		"auditrelay -> Kafka, no transforms": "kafka", "auditrelay -> OTLP collector (gRPC)": "otlp",
		"auditrelay -> file, no transforms, telemetry collector down": "telemetry",
	}
	if b.want("kafka") {
		addr, stop, err := b.startBroker()
		if err != nil {
			return err
		}
		defer stop()
		b.broker = addr
	}
	if b.want("telemetry") {
		// Bound for the whole run and never accepted from.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer ln.Close()
		b.deadCollector = ln
	}
	if b.want("otlp") {
		c, err := b.startCollector()
		if err != nil {
			return err
		}
		b.col = c
	}
	med := map[string]result{}
	spread := map[string]string{}
	// The jobs take turns, round after round, rather than each running
	// -repeat times in a row: a machine whose speed drifts (a shared or
	// virtual one) then slows every job of a comparison alike.
	// A job of several keys (a|b) runs when any is picked: it is the
	// reference of both.
	picked := func(name string) bool {
		k := keys[name]
		return k == "bare" || slices.ContainsFunc(strings.Split(k, "|"), b.want)
	}
	runs := map[string][]result{}
	for i := 0; i < b.o.repeat; i++ {
		for _, j := range jobs {
			if !picked(j.name) || j.run == nil {
				continue
			}
			r, err := j.run()
			if err != nil {
				return fmt.Errorf("%s: %w", j.name, err)
			}
			fmt.Fprintf(os.Stderr, "%-45s run %d: %d events in %v, CPU %v, RSS %.0f MiB\n", j.name, i+1, r.events, r.wall.Round(time.Millisecond), r.cpu.Round(time.Millisecond), r.rssMiB)
			runs[j.name] = append(runs[j.name], r)
		}
	}
	for _, j := range jobs {
		if !picked(j.name) {
			continue
		}
		if j.run == nil { // a second comparison of a job already run
			if r, ok := med["auditrelay -> file"]; ok {
				med[j.name], spread[j.name] = r, spread["auditrelay -> file"]
			}
			continue
		}
		rs := runs[j.name]
		slices.SortFunc(rs, func(a, b result) int { return int(a.wall - b.wall) })
		med[j.name] = rs[len(rs)/2]
		spread[j.name] = fmt.Sprintf("%.1f-%.1f", rs[0].wall.Seconds(), rs[len(rs)-1].wall.Seconds())
	}
	bare := med["bare pager -> file"]
	fmt.Fprintf(b.out, "### Backfill of %d events (%.0f bytes each on average), median of %d runs\n\n", bare.events, float64(b.rawSize)/float64(max(bare.events, 1)), b.o.repeat)
	fmt.Fprintf(b.out, "| job | events | wall s (min-max) | events/s | MB/s | CPU s per 1M events | peak RSS MiB | ratio | note |\n|---|---:|---:|---:|---:|---:|---:|---|---|\n")
	for _, j := range jobs {
		r, ok := med[j.name]
		if !ok {
			continue
		}
		ratio := ""
		if ref, ok := med[j.ref]; ok && j.ref != "" {
			ratio = fmt.Sprintf("%.2fx %s", rate(r)/rate(ref), j.ref)
		}
		cpuPerM := r.cpu.Seconds() * 1e6 / float64(max(r.events, 1))
		if r.refCPU > 0 {
			j.note += fmt.Sprintf("; collector CPU %.1f s per 1M", r.refCPU.Seconds()*1e6/float64(max(r.events, 1)))
		}
		fmt.Fprintf(b.out, "| %s | %d | %.2f (%s) | %.0f | %.1f | %.2f | %.1f | %s | %s |\n", j.name, r.events, r.wall.Seconds(), spread[j.name],
			rate(r), float64(b.rawSize)/float64(max(bare.events, 1))*rate(r)/1e6, cpuPerM, r.rssMiB, ratio, j.note)
	}
	fmt.Fprintf(b.out, "\nMB/s counts the events' raw JSON bytes as the API served them. Ratios are events/s of the job over events/s of the reference named.\n\n")
	b.guard(jobs, med)
	return nil
}

// guard says, for the jobs of this run, whether the simpler event path's
// guard holds: enrich + redact into a file at least 1.5x Benthos's
// events/s and at most 25 CPU s per 1M events, every job at most 64 MiB.
func (b *bench) guard(jobs []job, med map[string]result) {
	verdict := func(ok bool, format string, args ...any) {
		v := "met"
		if !ok {
			v = "NOT MET"
		}
		fmt.Fprintf(b.out, "- "+format+": %s\n", append(args, v)...)
	}
	file, ok := med["auditrelay -> file"]
	if !ok {
		return
	}
	fmt.Fprintf(b.out, "Guard of the simpler event path:\n\n")
	if bth, ok := med["Benthos v4 http_client -> mapping -> file"]; ok {
		f := rate(file) / rate(bth)
		verdict(f >= 1.5, "enrich + redact into a file at %.2fx Benthos's events/s (guard >= 1.5x)", f)
	}
	cpu := file.cpu.Seconds() * 1e6 / float64(max(file.events, 1))
	verdict(cpu <= 25, "enrich + redact into a file at %.1f CPU s per 1M events (guard <= 25)", cpu)
	for _, j := range jobs {
		if r, ok := med[j.name]; ok && j.run != nil {
			verdict(r.rssMiB <= 64, "%s: peak RSS %.1f MiB (guard <= 64)", j.name, r.rssMiB)
		}
	}
	fmt.Fprintln(b.out)
}

func rate(r result) float64 { return float64(r.events) / r.wall.Seconds() }

// startBroker runs a kfake broker in its own process.
func (b *bench) startBroker() (string, func(), error) {
	// kfake makes topics only at start: one per run of a Kafka job.
	var topics []string
	for i := 1; i <= 4*b.o.repeat+4; i++ {
		topics = append(topics, fmt.Sprintf("bench-%d", i))
	}
	br, err := benchkit.StartBroker(b.bin["kfakebroker"], 6, topics...)
	if err != nil {
		return "", nil, err
	}
	return br.Addr, br.Stop, nil
}

var topicSeq int

func nextTopic() string { topicSeq++; return fmt.Sprintf("bench-%d", topicSeq) }

// kcat runs kcat -P into a new topic, fed from the JSONL file or straight
// from the bare pager.
func (b *bench) kcat(jsonl string, withPager bool) func() (result, error) {
	return func() (result, error) {
		topic := nextTopic()
		kc := fmt.Sprintf("kcat -P -b %s -t %s -z snappy -X acks=all -X enable.idempotence=true -X linger.ms=5", b.broker, topic)
		var cmd *exec.Cmd
		if withPager {
			cmd = exec.Command("sh", "-c", fmt.Sprintf("%s --base-url %s --out /dev/stdout | %s", b.bin["barepager"], b.simBase, kc))
		} else {
			cmd = exec.Command("sh", "-c", kc+" <"+jsonl)
		}
		r, err := measure(cmd)
		if err != nil {
			return r, err
		}
		r.events, err = b.countTopic(topic)
		return r, err
	}
}

// countTopic counts the committed records of topic with kcat.
func (b *bench) countTopic(topic string) (int, error) {
	out, err := exec.Command("kcat", "-C", "-b", b.broker, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "x\n").Output()
	if err != nil {
		return 0, fmt.Errorf("kcat -C %s: %w", topic, err)
	}
	return bytes.Count(out, []byte{'\n'}), nil
}

func (b *bench) kafkaJob(transforms bool) func() (result, error) {
	return func() (result, error) {
		topic := nextTopic()
		sink := fmt.Sprintf("    type: kafka\n    brokers: [%s]\n    topic: %s\n    compression: snappy", b.broker, topic)
		r, _, err := b.auditrelay("kafka", sink, transforms)
		if err != nil {
			return r, err
		}
		r.events, err = b.countTopic(topic)
		r.bytes = b.rawSize
		return r, err
	}
}

// collector is an OpenTelemetry Collector with an OTLP receiver and a
// debug exporter that only counts.
type collector struct {
	cmd    *exec.Cmd
	addr   string // of the gRPC receiver
	stderr *benchkit.Output
}

func (b *bench) startCollector() (*collector, error) {
	if _, err := os.Stat(b.bin["otelcol"]); err != nil {
		return nil, fmt.Errorf("no OpenTelemetry Collector at %s: run `bash test/e2e/build-collector.sh`", b.bin["otelcol"])
	}
	// Port 0: the receiver binds free ports and logs them.
	cfg := `receivers:
  otlp:
    protocols:
      grpc: {endpoint: "127.0.0.1:0"}
      http: {endpoint: "127.0.0.1:0"}
exporters:
  debug: {verbosity: basic}
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    logs: {receivers: [otlp], exporters: [debug]}
`
	p := filepath.Join(b.work, "otelcol.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	c := &collector{cmd: exec.Command(b.bin["otelcol"], "--config", "file:"+p), stderr: &benchkit.Output{}}
	c.cmd.Stderr = c.stderr
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	grpc, _, err := benchkit.CollectorAddrs(c.stderr, 30*time.Second)
	if err != nil {
		c.stop()
		return nil, err
	}
	c.addr = grpc
	return c, nil
}

func (c *collector) stop() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	c.cmd.Wait()
}

var logRecords = regexp.MustCompile(`"log records": (\d+)`)

// received sums the records the debug exporter reported.
func (c *collector) received() int {
	n := 0
	for _, m := range logRecords.FindAllStringSubmatch(c.stderr.String(), -1) {
		k, _ := strconv.Atoi(m[1])
		n += k
	}
	return n
}

// cpu returns the collector's CPU time so far.
func (c *collector) cpu() time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ 100
}

func (b *bench) otlpJob() (result, error) {
	before, cpu0 := b.col.received(), b.col.cpu()
	// A collector on loopback is deployed like an agent: no compression
	// (the agent presets of the sink default to none for that reason).
	sink := fmt.Sprintf("    type: otlp\n    endpoint: %s\n    protocol: grpc\n    compression: none", b.col.addr)
	r, _, err := b.auditrelay("otlp", sink, true)
	if err != nil {
		return r, err
	}
	// auditrelay exited 0: the collector acknowledged every event. The
	// debug exporter's log is sampled, so its count is a lower bound only.
	bare, _, err := countLines(filepath.Join(b.work, "bare.jsonl"))
	if err != nil {
		return r, err
	}
	if got := b.col.received() - before; got > bare {
		return r, fmt.Errorf("the collector logged %d records, more than the %d events", got, bare)
	}
	r.events, r.bytes, r.refCPU = bare, b.rawSize, b.col.cpu()-cpu0
	return r, nil
}

// benthos runs the Benthos peer: its http_client input polls the page
// endpoint (100 events per response) until it has read as many events as
// the bare pager found, a mapping adds a field, the file output writes lines.
func (b *bench) benthos() (result, error) {
	bare, _, err := countLines(filepath.Join(b.work, "bare.jsonl"))
	if err != nil {
		return result{}, err
	}
	out := filepath.Join(b.work, "benthos.jsonl")
	os.Remove(out)
	cfg := fmt.Sprintf(`input:
  read_until:
    check: 'count("benthos_pages") >= %d'
    input:
      http_client:
        url: "%s/organization/audit_logs?limit=100"
        verb: GET
        headers: {Authorization: "Bearer sk-admin-bench"}
pipeline:
  threads: 2
  processors:
    - mapping: 'root = this.data'
    - unarchive: {format: json_array}
    - mapping: |
        root = this
        root.ingested_at = now()
output:
  file: {path: "%s", codec: lines}
logger: {level: warn}
metrics: {none: {}}
`, (bare+99)/100, b.simBase, out)
	p := filepath.Join(b.work, "benthos.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		return result{}, err
	}
	r, err := measure(exec.Command(b.bin["benthos"], "run", p))
	if err != nil {
		return r, err
	}
	r.events, r.bytes, err = countLines(out)
	return r, err
}

// scaling runs auditrelay -> file with the default transform chain at each
// size once: time should grow linearly and peak RSS stay flat.
func (b *bench) scaling() error {
	fmt.Fprintf(b.out, "### Scaling: auditrelay --once -> file, enrich + redact, one run per size\n\n")
	fmt.Fprintf(b.out, "| events | wall s | events/s | s per 1M events | CPU s per 1M events | peak RSS MiB |\n|---:|---:|---:|---:|---:|---:|\n")
	for _, n := range b.o.scale {
		if err := b.startSim(n, 0); err != nil {
			return err
		}
		r, dir, err := b.auditrelay(fmt.Sprintf("scale-%d", n), "    type: file\n    path: audit.jsonl", true)
		if err != nil {
			b.stopSim()
			return err
		}
		r.events, _, err = countLines(filepath.Join(dir, "audit.jsonl"))
		os.RemoveAll(dir)
		b.stopSim()
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "scaling %d: %d events in %v, RSS %.0f MiB\n", n, r.events, r.wall.Round(time.Millisecond), r.rssMiB)
		fmt.Fprintf(b.out, "| %d | %.2f | %.0f | %.2f | %.2f | %.1f |\n", r.events, r.wall.Seconds(), rate(r),
			r.wall.Seconds()*1e6/float64(max(r.events, 1)), r.cpu.Seconds()*1e6/float64(max(r.events, 1)), r.rssMiB)
	}
	fmt.Fprintln(b.out)
	return nil
}

// tail runs auditrelay as a daemon (poll_interval 1s, settle 1s) while the
// simulator makes events appear at a steady rate, and measures for each
// delivered event the time from its effective_at (when the simulator made
// it visible) to the moment its line appeared in the output file.
func (b *bench) tail() error {
	if err := b.startSim(1000, b.o.tailRate); err != nil {
		return err
	}
	defer b.stopSim()
	dir := filepath.Join(b.work, "tail")
	sink := "    type: file\n    path: audit.jsonl"
	cfg, err := b.config(dir, sink, true, "")
	if err != nil {
		return err
	}
	data, err := os.ReadFile(cfg)
	if err != nil {
		return err
	}
	for _, r := range [][2]string{
		{"    settle: 0s\n", "    settle: 1s\n    poll_interval: 1s\n    overlap: 10s\n"},
		{"start_at: 800h", "start_at: 1s"},
	} {
		// A key the back-fill config no longer has would leave the tail
		// measuring something else: fail instead.
		if !bytes.Contains(data, []byte(r[0])) {
			return fmt.Errorf("tail: the back-fill config has no %q to replace", r[0])
		}
		data = bytes.Replace(data, []byte(r[0]), []byte(r[1]), 1)
	}
	if err := os.WriteFile(cfg, data, 0o600); err != nil {
		return err
	}
	cmd := exec.Command(b.bin["auditrelay"], "run", "-c", cfg)
	stderr := &benchkit.Output{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	out := filepath.Join(dir, "audit.jsonl")
	var lat []time.Duration
	var off int64
	var partial []byte
	start := time.Now()
	for time.Since(start) < b.o.tailFor {
		time.Sleep(20 * time.Millisecond)
		f, err := os.Open(out)
		if err != nil {
			continue
		}
		f.Seek(off, io.SeekStart)
		chunk, _ := io.ReadAll(f)
		f.Close()
		now := time.Now()
		off += int64(len(chunk))
		partial = append(partial, chunk...)
		for {
			i := bytes.IndexByte(partial, '\n')
			if i < 0 {
				break
			}
			var ev struct {
				EffectiveAt int64 `json:"effective_at"`
			}
			if json.Unmarshal(partial[:i], &ev) == nil && ev.EffectiveAt > start.Unix() {
				// effective_at has whole seconds: count from the middle
				// of its second.
				lat = append(lat, now.Sub(time.Unix(ev.EffectiveAt, 5e8)))
			}
			partial = partial[i+1:]
		}
	}
	if len(lat) == 0 {
		return errors.New("tail: nothing delivered: " + tailOf(stderr.String(), 2000))
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Fprintf(b.out, "### Steady tail: %.0f new events/s for %v, daemon with poll_interval 1s, settle 1s, enrich + redact -> file\n\n", b.o.tailRate, b.o.tailFor)
	fmt.Fprintf(b.out, "| events delivered | p50 | p99 | max |\n|---:|---:|---:|---:|\n| %d | %v | %v | %v |\n\n", len(lat),
		q(0.5).Round(10*time.Millisecond), q(0.99).Round(10*time.Millisecond), lat[len(lat)-1].Round(10*time.Millisecond))
	fmt.Fprintf(b.out, "Latency is from the event's effective_at (whole seconds, taken as the middle of the second) to the moment its line was read from the file (20 ms polling).\n\n")
	return nil
}
