package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/auditrelay/auditrelay/config"
	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/telemetry"
)

// Exit codes, documented in the README.
const (
	exitOK      = 0 // done, or stopped by SIGINT/SIGTERM after committing
	exitFailure = 1 // a runtime failure: a refused key, a sink failing for good
	exitUsage   = 2 // a bad command line or an invalid config
)

// version is stamped at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// Main is the program with its outside world made explicit.
type Main struct {
	Stdout, Stderr io.Writer
	Environ        []string
	// Reload delivers SIGHUP: `run` re-reads its config on every value.
	// Nil disables reloading.
	Reload <-chan os.Signal
	// Listener, when set, is where `run` serves /metrics, /healthz and
	// /readyz instead of binding server.listen; the run closes it when it
	// ends. A test binds it on port 0, so it knows the address before the
	// run starts and no other process can take the port meanwhile.
	Listener net.Listener
}

type command struct {
	name, summary string
	run           func(m *Main, ctx context.Context, args []string) int
}

func commands() []command {
	return []command{
		{"run", "run the pipeline of a config file (daemon, or --once to catch up and exit)", (*Main).cmdRun},
		{"validate", "check a config file and print it as it will run, secrets masked", (*Main).cmdValidate},
		{"config", "the config reference: every key of every component, its default and meaning", (*Main).cmdConfig},
		{"demo", "run the whole pipeline against the built-in simulator, no key needed", (*Main).cmdDemo},
		{"simulate", "serve the built-in simulator of OpenAI's Admin API over HTTP (--chatgpt: of ChatGPT's Compliance Logs)", (*Main).cmdSimulate},
		{"list", "list recent audit, request or ChatGPT compliance logs (--api chatgpt), or Anthropic compliance activities (--api anthropic), newest first", (*Main).cmdList},
		{"get", "print one log by id as pretty JSON", (*Main).cmdGet},
		{"export", "export a time range to CSV or JSON lines, resumable", (*Main).cmdExport},
		{"stats", "count logs by type, actor, project, organization, model, action or day, with success rates", (*Main).cmdStats},
		{"verify", "check an archive written with integrity: sha256-chain: chain, signed heads, every committed window", (*Main).cmdVerify},
		{"version", "print the version", (*Main).cmdVersion},
	}
}

func (m *Main) usage() {
	fmt.Fprintf(m.Stderr, "auditrelay forwards the audit logs of OpenAI, ChatGPT Enterprise and Anthropic to Kafka, OTLP, Splunk, Datadog and files.\n\nUsage: auditrelay <command> [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(m.Stderr, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(m.Stderr, "\nRun 'auditrelay <command> -h' for a command's flags.\n")
}

// Run runs the command in args and returns the process exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		m.usage()
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		m.usage()
		return exitOK
	case "-v", "--version":
		return m.cmdVersion(ctx, nil)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(m, ctx, args[1:])
		}
	}
	fmt.Fprintf(m.Stderr, "auditrelay: unknown command %q\n\n", args[0])
	m.usage()
	return exitUsage
}

func (m *Main) flags(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(m.Stderr, "Usage: auditrelay %s %s\n\nFlags:\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags; it returns an exit code and false when the caller
// must stop.
func parse(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return 0, true
}

func (m *Main) newLogger(level, format string) *slog.Logger {
	return newLogger(m.Stderr, level, format)
}

// newLogger returns the logger of a command, writing to w.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	switch level {
	case "debug":
		lv = slog.LevelDebug
	case "warn":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	default:
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// loadConfig loads path and reports problems on stderr; ok is false when
// the caller must exit with code.
func (m *Main) loadConfig(path string) (*config.Config, *pipeline.Registry, int, bool) {
	reg, err := components()
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay: %v\n", err)
		return nil, nil, exitFailure, false
	}
	if path == "" {
		fmt.Fprintln(m.Stderr, "auditrelay: -c FILE is required")
		return nil, nil, exitUsage, false
	}
	cfg, err := config.Load(path, reg, m.Environ)
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay: %s: %v\n", path, err)
		return nil, nil, exitUsage, false
	}
	return cfg, reg, 0, true
}

func (m *Main) cmdRun(ctx context.Context, args []string) int {
	fs := m.flags("run", "-c FILE [--once]")
	path := fs.String("c", "auditrelay.yaml", "config `file`")
	once := fs.Bool("once", false, "catch up to now minus settle, commit, and exit (for cron and tests)")
	level := fs.String("log-level", "", "override log.level (debug, info, warn, error)")
	format := fs.String("log-format", "", "override log.format (text, json)")
	prof, args := profileFlags(args)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	cfg, reg, code, ok := m.loadConfig(*path)
	if !ok {
		return code
	}
	logFormat := firstNonEmpty(*format, cfg.Log.Format)
	// On a terminal, a back-fill's progress is a line kept under the logs.
	var status *statusLine
	logOut := m.Stderr
	if isTerminal(m.Stderr) && logFormat != "json" {
		status = newStatusLine(m.Stderr)
		logOut = status
		defer status.clear()
	}
	log := newLogger(logOut, firstNonEmpty(*level, cfg.Log.Level), logFormat)
	stop, err := prof.start()
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay: %v\n", err)
		return exitUsage
	}
	defer stop()
	return m.runPipeline(ctx, reg, cfg, log, *once, status)
}

// profiles are the hidden benchmark flags of run: --cpuprofile FILE writes
// a CPU profile of the whole run, --memprofile FILE the allocation profile
// at exit. They are left out of the usage on purpose.
type profiles struct{ cpu, mem string }

// profileFlags takes the hidden profile flags out of args.
func profileFlags(args []string) (profiles, []string) {
	var p profiles
	var rest []string
	for i := 0; i < len(args); i++ {
		name, val, hasVal := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		var dst *string
		switch {
		case !strings.HasPrefix(args[i], "-"):
		case name == "cpuprofile":
			dst = &p.cpu
		case name == "memprofile":
			dst = &p.mem
		}
		if dst == nil {
			rest = append(rest, args[i])
			continue
		}
		if !hasVal && i+1 < len(args) {
			i++
			val = args[i]
		}
		*dst = val
	}
	return p, rest
}

// start starts the CPU profile; the returned function stops it and writes
// the allocation profile.
func (p profiles) start() (func(), error) {
	var cpu *os.File
	if p.cpu != "" {
		f, err := os.Create(p.cpu)
		if err != nil {
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
		cpu = f
	}
	return func() {
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
		}
		if p.mem != "" {
			if f, err := os.Create(p.mem); err == nil {
				pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}
	}, nil
}

func (m *Main) runPipeline(ctx context.Context, reg *pipeline.Registry, cfg *config.Config, log *slog.Logger, once bool, status *statusLine) int {
	tel, closeTelemetry, err := openTelemetry(cfg, log)
	if err != nil {
		log.Error("starting the telemetry failed", "err", err)
		return exitFailure
	}
	defer closeTelemetry()
	// Log lines about a traced window carry its trace_id and span_id.
	log = slog.New(telemetry.LogHandler(log.Handler()))
	ln := m.Listener
	if ln == nil && cfg.Server.Listen != "" {
		if ln, err = net.Listen("tcp", cfg.Server.Listen); err != nil {
			log.Error("starting the metrics and health server failed", "err", fmt.Errorf("server.listen %s: %w", cfg.Server.Listen, err))
			return exitFailure
		}
	}
	if ln != nil {
		stop := serve(ctx, ln, tel.Handler(log), log)
		defer stop()
	}
	log.Info("auditrelay starting", "version", version, "sources", len(cfg.Spec.Sources), "sinks", len(cfg.Spec.Sinks), "once", once)
	logWarnings(log, cfg)
	return m.runReloading(ctx, reg, cfg, log, tel, once, status)
}

// buildPipeline builds the pipeline of cfg, reporting its progress to
// status when there is one. With a `coordination:` section in the Kafka
// checkpoint store, the pipeline runs only the sources Kafka gives this
// replica; a --once run catches up every source itself (two such runs at
// once are still safe: the transactional ids fence one of them).
func buildPipeline(reg *pipeline.Registry, cfg *config.Config, log *slog.Logger, tel pipeline.Telemetry, status *statusLine) (*pipeline.Pipeline, error) {
	p, err := pipeline.Build(reg, cfg.Spec, log, tel)
	if err == nil && status != nil {
		p.OnProgress(status.update)
	}
	return p, err
}

// logWarnings logs what the config does against its user (a secret sent in
// clear), at every start and reload.
func logWarnings(log *slog.Logger, cfg *config.Config) {
	for _, w := range cfg.Warnings {
		log.Warn("config: " + w)
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (m *Main) cmdValidate(_ context.Context, args []string) int {
	fs := m.flags("validate", "-c FILE")
	path := fs.String("c", "auditrelay.yaml", "config `file`")
	quiet := fs.Bool("q", false, "print nothing when valid")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	cfg, _, code, ok := m.loadConfig(*path)
	if !ok {
		return code
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(m.Stderr, "auditrelay: warning: %s\n", w)
	}
	if *quiet {
		return exitOK
	}
	out, err := yaml.Marshal(cfg.Effective())
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(m.Stdout, "# %s is valid; effective configuration (secrets masked):\n%s", *path, out)
	return exitOK
}

func (m *Main) cmdVersion(context.Context, []string) int {
	rev := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = " (" + s.Value[:12] + ")"
			}
		}
	}
	reg, err := components()
	fmt.Fprintf(m.Stdout, "auditrelay %s%s %s %s/%s\n", version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if err == nil {
		for _, k := range []pipeline.Kind{pipeline.KindSource, pipeline.KindTransform, pipeline.KindSink, pipeline.KindStore} {
			types := reg.Types(k)
			sort.Strings(types)
			fmt.Fprintf(m.Stdout, "  %-11s %s\n", k.String()+"s:", strings.Join(types, ", "))
		}
	}
	return exitOK
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
