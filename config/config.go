package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"

	"github.com/auditrelay/auditrelay/pipeline"
)

// EnvPrefix starts every environment variable that overrides a key. Levels
// are separated by a double underscore and list indices are numbers:
// AUDITRELAY_SOURCES__0__API_KEY overrides sources[0].api_key and
// AUDITRELAY_CHECKPOINT__DIR overrides checkpoint.dir.
const EnvPrefix = "AUDITRELAY_"

// LogConfig is the `log:` section.
type LogConfig struct {
	// Level is the least severe level logged (default info; an empty
	// value means the default too). One of: debug, info, warn, error.
	Level string `koanf:"level"`
	// Format is text (default: slog's key=value lines, for people) or json
	// (one object per line, for machines); empty means the default.
	// One of: text, json.
	Format string `koanf:"format"`
}

// ServerConfig is the `server:` section: the HTTP server of /metrics,
// /healthz and /readyz.
type ServerConfig struct {
	// Listen is the host:port the server binds, such as 127.0.0.1:9464
	// (loopback only) or 0.0.0.0:9464 (every interface, as a container
	// needs). Empty (the default) runs no server.
	Listen string `koanf:"listen"`
	// StuckAfter turns /readyz red when a source has not committed a
	// window for this long although it should have (default 15m).
	StuckAfter time.Duration `koanf:"stuck_after"`
	// SinkFailingAfter turns /readyz red when a sink has failed every
	// batch for this long (default 2m).
	SinkFailingAfter time.Duration `koanf:"sink_failing_after"`
}

// TelemetryConfig is the `telemetry:` section: where auditrelay sends its
// own metrics besides the /metrics of server.listen, and its traces.
type TelemetryConfig struct {
	// OTLP pushes the metrics (the names /metrics shows) to an OTLP
	// receiver, such as an OpenTelemetry Collector; off unless endpoint is
	// set. Only this section configures it: OTEL_* variables are ignored.
	OTLP OTLPConfig `koanf:"otlp"`
	// Traces sends a trace of every window (its requests, transforms,
	// each sink's delivery and commit, the cursor save) to the receiver
	// of telemetry.otlp, with its protocol and headers; off by default.
	Traces TracesConfig `koanf:"traces"`
}

// TracesConfig is `telemetry.traces`.
type TracesConfig struct {
	// Enabled turns tracing on (default false); it needs
	// telemetry.otlp.endpoint.
	Enabled bool `koanf:"enabled"`
	// SamplingRatio is the share of windows traced, from 0 to 1 (default
	// 1: every window). A window is traced whole or not at all: its
	// requests, transforms and sinks follow the window's decision.
	SamplingRatio float64 `koanf:"sampling_ratio"`
	// MaxQueueSize bounds the spans waiting for export (default 2048).
	// Spans that do not fit, because the receiver is slow or down, are
	// dropped and counted in auditrelay_telemetry_spans_dropped_total:
	// delivery of audit events never waits for its own telemetry.
	MaxQueueSize int `koanf:"max_queue_size"`
}

// OTLPConfig is `telemetry.otlp`.
type OTLPConfig struct {
	// Endpoint is the receiver's URL, scheme, host and port, such as
	// http://collector:4317 (gRPC in plain text) or
	// https://collector:4318 (TLS); with protocol http the path defaults
	// to /v1/metrics. Empty (the default) pushes nothing.
	Endpoint string `koanf:"endpoint"`
	// Protocol is how the metrics are sent (default grpc): grpc, or http
	// for protobuf over HTTP. One of: grpc, http.
	Protocol string `koanf:"protocol"`
	// Headers are sent with every push, such as an API key of the
	// receiver; their values are secrets, never printed.
	Headers map[string]pipeline.Secret `koanf:"headers"`
	// Interval is the time between pushes (default 60s). A push not
	// answered within it is dropped and counted in
	// auditrelay_telemetry_export_failures_total; the next one carries
	// the totals again.
	Interval time.Duration `koanf:"interval"`
}

// Settings are the top-level keys besides the component sections: how
// auditrelay itself logs, serves its health and stops.
type Settings struct {
	// Log is auditrelay's own log, written to standard error.
	Log LogConfig `koanf:"log"`
	// Server is the HTTP server of /metrics, /healthz and /readyz; off
	// unless listen is set.
	Server ServerConfig `koanf:"server"`
	// ShutdownTimeout bounds how long a stop (SIGINT, SIGTERM) may take to
	// finish and commit the window in flight (default 30s); past it the
	// process exits 1 and the window is read again at the next start.
	ShutdownTimeout time.Duration `koanf:"shutdown_timeout"`
	// Telemetry sends auditrelay's own metrics elsewhere than /metrics.
	Telemetry TelemetryConfig `koanf:"telemetry"`
}

var _ pipeline.Config = (*Settings)(nil)

// DefaultSettings returns the settings of a file that leaves them out.
func DefaultSettings() *Settings {
	return &Settings{
		Log:             LogConfig{Level: "info", Format: "text"},
		Server:          ServerConfig{StuckAfter: 15 * time.Minute, SinkFailingAfter: 2 * time.Minute},
		ShutdownTimeout: 30 * time.Second,
		Telemetry: TelemetryConfig{OTLP: OTLPConfig{Protocol: "grpc", Interval: time.Minute},
			Traces: TracesConfig{SamplingRatio: 1, MaxQueueSize: 2048}},
	}
}

// Validate implements pipeline.Config. An empty log level or format is
// valid: it means the default.
func (s *Settings) Validate() error {
	var errs []error
	switch s.Log.Level {
	case "", "debug", "info", "warn", "error":
	default:
		errs = append(errs, pipeline.FieldError("log.level", "must be debug, info, warn or error, got %q", s.Log.Level))
	}
	switch s.Log.Format {
	case "", "text", "json":
	default:
		errs = append(errs, pipeline.FieldError("log.format", "must be text or json, got %q", s.Log.Format))
	}
	if s.ShutdownTimeout <= 0 {
		errs = append(errs, pipeline.FieldError("shutdown_timeout", "must be > 0"))
	}
	if s.Server.StuckAfter <= 0 {
		errs = append(errs, pipeline.FieldError("server.stuck_after", "must be > 0"))
	}
	if s.Server.SinkFailingAfter <= 0 {
		errs = append(errs, pipeline.FieldError("server.sink_failing_after", "must be > 0"))
	}
	errs = append(errs, s.Telemetry.OTLP.validate()...)
	errs = append(errs, s.Telemetry.Traces.validate(s.Telemetry.OTLP)...)
	return errors.Join(errs...)
}

// validate checks telemetry.traces, which exports to otlp's receiver.
func (t *TracesConfig) validate(otlp OTLPConfig) []error {
	var errs []error
	if !(t.SamplingRatio >= 0 && t.SamplingRatio <= 1) { // NaN fails too
		errs = append(errs, pipeline.FieldError("telemetry.traces.sampling_ratio", "must be between 0 and 1, got %v", t.SamplingRatio))
	}
	if t.MaxQueueSize <= 0 {
		errs = append(errs, pipeline.FieldError("telemetry.traces.max_queue_size", "must be > 0"))
	}
	if t.Enabled && otlp.Endpoint == "" {
		errs = append(errs, pipeline.FieldError("telemetry.traces.enabled", "needs telemetry.otlp.endpoint, the receiver the spans are sent to"))
	}
	return errs
}

// validate checks telemetry.otlp. Neither the endpoint (it may carry
// credentials) nor a header value is repeated in an error.
func (o *OTLPConfig) validate() []error {
	var errs []error
	switch o.Protocol {
	case "grpc", "http":
	default:
		errs = append(errs, pipeline.FieldError("telemetry.otlp.protocol", "must be grpc or http, got %q", o.Protocol))
	}
	if o.Interval <= 0 {
		errs = append(errs, pipeline.FieldError("telemetry.otlp.interval", "must be > 0"))
	}
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, pipeline.FieldError("telemetry.otlp.endpoint", "must be an http:// or https:// URL with a host and port"))
		}
	} else if len(o.Headers) > 0 {
		errs = append(errs, pipeline.FieldError("telemetry.otlp.headers", "are set but endpoint is empty"))
	}
	for k := range o.Headers {
		if strings.TrimSpace(k) == "" {
			errs = append(errs, pipeline.FieldError("telemetry.otlp.headers", "a header name is empty"))
		}
	}
	return errs
}

// top is the shape of the file; component sections stay raw until their
// factory is known.
type top struct {
	Sources      []map[string]any `koanf:"sources"`
	Transforms   []map[string]any `koanf:"transforms"`
	Sinks        []map[string]any `koanf:"sinks"`
	DeadLetter   map[string]any   `koanf:"dead_letter"`
	Checkpoint   map[string]any   `koanf:"checkpoint"`
	Coordination any              `koanf:"coordination"` // moved: see decode
	Settings     `koanf:",squash"`
}

// Config is a loaded, validated configuration.
type Config struct {
	// Path is the config file, BaseDir its directory.
	Path    string
	BaseDir string
	// Spec is the pipeline to build, every component config decoded.
	Spec      pipeline.Spec
	Log       LogConfig
	Server    ServerConfig
	Telemetry TelemetryConfig
	// Warnings are what is valid but works against the user (a secret sent
	// in clear), each under its key path: validate prints them and run logs
	// them.
	Warnings []string
	// refs hides the values ${env:...}/${file:...} references expanded
	// to: Effective masks them wherever they sit, secret field or not.
	refs mask
}

// Error holds every problem found in a configuration. Callers exit with
// status 2 when they see it.
type Error struct {
	Problems []string
}

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "invalid config: " + e.Problems[0]
	}
	return fmt.Sprintf("invalid config (%d problems):\n  %s", len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// Load reads the file at path, applies the AUDITRELAY_* variables of environ
// (os.Environ() in the binary) and decodes every section through reg.
func Load(path string, reg *pipeline.Registry, environ []string) (*Config, error) {
	// The file is parsed as it is, not loaded into a koanf tree: koanf
	// splits keys on its delimiter, and map keys such as event types
	// (login.failed) or labels (team.name) must stay whole.
	data, err := file.Provider(path).ReadBytes()
	if err != nil {
		return nil, &Error{Problems: []string{fmt.Sprintf("reading %s: %v", path, err)}}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return Parse(data, filepath.Dir(abs), reg, environ, abs)
}

// Parse is Load for a config held in memory; relative paths are relative
// to baseDir.
// path, if given, is recorded as the config's Path.
func Parse(data []byte, baseDir string, reg *pipeline.Registry, environ []string, path ...string) (*Config, error) {
	raw, err := yaml.Parser().Unmarshal(data)
	if err != nil {
		return nil, &Error{Problems: []string{fmt.Sprintf("parsing YAML: %v", err)}}
	}
	if raw == nil {
		raw = map[string]any{}
	}
	p := ""
	if len(path) > 0 {
		p = path[0]
	}
	return decode(raw, p, baseDir, reg, environ)
}

// problems collects what is wrong with a config. refs are the values that
// ${env:...} and ${file:...} references expanded to: a reference may sit in
// a field that is not a secret (a mistake worth an error), and its value must
// not show in that error.
type problems struct{ list, refs []string }

// masked returns the problems with every expanded reference value hidden.
func (p *problems) masked() []string {
	m := newMask(p.refs)
	out := make([]string, len(p.list))
	for i, s := range p.list {
		out[i] = m.hide(s)
	}
	return out
}

// mask hides the values references expanded to, in every form an error or
// the effective config may show one: itself, each of its lines and
// comma-separated parts (a list field splits it so), and each of those as
// %q escapes it. Forms shorter than 4 bytes would hide ordinary words and
// are left out. The longest come first, so that a part does not leave the
// rest of a longer form showing.
type mask []string

func newMask(refs []string) mask {
	var m mask
	for _, r := range refs {
		parts := []string{r}
		for line := range strings.Lines(r) {
			for part := range strings.SplitSeq(line, ",") {
				parts = append(parts, strings.TrimSpace(part))
			}
			parts = append(parts, strings.TrimSpace(line))
		}
		for _, part := range parts {
			q := strconv.Quote(part)
			for _, f := range []string{part, q[1 : len(q)-1]} {
				if len(f) >= 4 && !slices.Contains(m, f) {
					m = append(m, f)
				}
			}
		}
	}
	slices.SortFunc(m, func(a, b string) int { return len(b) - len(a) })
	return m
}

func (m mask) hide(s string) string {
	for _, f := range m {
		s = strings.ReplaceAll(s, f, "***")
	}
	return s
}

func (p *problems) add(path string, err error) {
	if err == nil {
		return
	}
	for _, e := range flatten(err) {
		msg := e.Error()
		if path != "" {
			msg = path + "." + msg
		}
		p.list = append(p.list, msg)
	}
}

func (p *problems) addf(format string, args ...any) {
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

// flatten unwraps errors.Join trees into their leaves.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func decode(raw map[string]any, path, baseDir string, reg *pipeline.Registry, environ []string) (*Config, error) {
	var p problems
	fromEnv, err := applyEnv(raw, environ)
	if err != nil {
		p.addf("%v", err)
	}
	expandRefs(raw, "", baseDir, environ, &p)

	t := top{Settings: *DefaultSettings()}
	decodeStrict(raw, &t, "", &p)
	p.add("", t.Settings.Validate())
	// An empty level or format, written out, means the default: the
	// effective config shows the one that runs.
	def := DefaultSettings()
	if t.Log.Level == "" {
		t.Log.Level = def.Log.Level
	}
	if t.Log.Format == "" {
		t.Log.Format = def.Log.Format
	}

	c := &Config{Path: path, BaseDir: baseDir, Log: t.Log, Server: t.Server, Telemetry: t.Telemetry, refs: newMask(p.refs)}
	c.Spec.BaseDir = baseDir
	c.Spec.DrainTimeout = t.ShutdownTimeout

	if len(t.Sources) == 0 {
		p.addf("sources: at least one source is required")
	}
	if len(t.Sinks) == 0 {
		p.addf("sinks: at least one sink is required")
	}
	c.Spec.Sources = components(reg, pipeline.KindSource, "sources", t.Sources, true, &p)
	c.Spec.Transforms = components(reg, pipeline.KindTransform, "transforms", t.Transforms, false, &p)
	c.Spec.Sinks = components(reg, pipeline.KindSink, "sinks", t.Sinks, false, &p)
	if t.DeadLetter != nil {
		if _, ok := t.DeadLetter["name"]; !ok {
			t.DeadLetter["name"] = "dead_letter"
		}
		if s := component(reg, pipeline.KindSink, "dead_letter", t.DeadLetter, &p); s != nil {
			c.Spec.DeadLetter = s
			if !s.Accept.All() {
				p.addf("dead_letter.accept: not taken here: the dead-letter sink takes every event it is sent")
			}
			for _, o := range c.Spec.Sinks {
				if o.Name == s.Name {
					p.addf("dead_letter.name: %q is also the name of a sink", s.Name)
				}
			}
		}
	}
	if t.Checkpoint == nil {
		t.Checkpoint = map[string]any{"type": "file"}
	}
	if _, ok := t.Checkpoint["name"]; !ok {
		t.Checkpoint["name"] = "checkpoint"
	}
	if s := component(reg, pipeline.KindStore, "checkpoint", t.Checkpoint, &p); s != nil {
		c.Spec.Checkpoint = *s
	}
	if t.Coordination != nil {
		p.addf("coordination: replicas are now set up in the kafka checkpoint store: move this section to checkpoint.coordination (checkpoint: {type: kafka, sink: NAME, coordination: {...}}) and drop its type and sink keys")
	}
	checkSpec(c.Spec, &p)
	if len(p.list) > 0 {
		p.nameVariables(fromEnv)
		return nil, &Error{Problems: p.masked()}
	}
	w := problems{refs: p.refs}
	eachComponent(c.Spec, func(path string, cs pipeline.ComponentSpec) {
		if wr, ok := cs.Config.(pipeline.Warner); ok {
			w.add(path, errors.Join(wr.Warnings()...))
		}
	})
	c.Warnings = w.masked()
	return c, nil
}

// checkSpec runs the checks of the component configs that depend on the
// rest of the pipeline (pipeline.SpecChecker), each reported under its
// section's path.
func checkSpec(spec pipeline.Spec, p *problems) {
	eachComponent(spec, func(path string, c pipeline.ComponentSpec) {
		if sc, ok := c.Config.(pipeline.SpecChecker); ok {
			p.add(path, sc.CheckSpec(c.Name, spec))
		}
	})
}

// eachComponent calls fn with every component of spec and the path of its
// section.
func eachComponent(spec pipeline.Spec, fn func(path string, c pipeline.ComponentSpec)) {
	for i, c := range spec.Sources {
		fn(fmt.Sprintf("sources[%d]", i), c)
	}
	for i, c := range spec.Transforms {
		fn(fmt.Sprintf("transforms[%d]", i), c)
	}
	for i, c := range spec.Sinks {
		fn(fmt.Sprintf("sinks[%d]", i), c)
	}
	if spec.DeadLetter != nil {
		fn("dead_letter", *spec.DeadLetter)
	}
	if spec.Checkpoint.Config != nil {
		fn("checkpoint", spec.Checkpoint)
	}
}

func components(reg *pipeline.Registry, kind pipeline.Kind, key string, sections []map[string]any, nameRequired bool, p *problems) []pipeline.ComponentSpec {
	var out []pipeline.ComponentSpec
	seen := map[string]string{}
	for i, sec := range sections {
		path := fmt.Sprintf("%s[%d]", key, i)
		if sec == nil {
			p.addf("%s: empty section", path)
			continue
		}
		if _, ok := sec["name"]; !ok {
			if nameRequired {
				p.addf("%s.name: must be set (it keys the checkpoint)", path)
				continue
			}
			sec["name"] = sec["type"]
		}
		s := component(reg, kind, path, sec, p)
		if s == nil {
			continue
		}
		if prev, dup := seen[s.Name]; dup {
			p.addf("%s.name: %q is already the name of %s", path, s.Name, prev)
			continue
		}
		seen[s.Name] = path
		out = append(out, *s)
	}
	return out
}

// component decodes one section: its name and type, a sink's retry policy,
// and the rest into the factory's default config.
func component(reg *pipeline.Registry, kind pipeline.Kind, path string, sec map[string]any, p *problems) *pipeline.ComponentSpec {
	name, _ := sec["name"].(string)
	typ, _ := sec["type"].(string)
	ok := true
	if name == "" {
		p.addf("%s.name: must be a non-empty string", path)
		ok = false
	}
	if typ == "" {
		p.addf("%s.type: must be set (one of %s)", path, strings.Join(reg.Types(kind), ", "))
		return nil
	}
	f, found := reg.Factory(kind, typ)
	if !found {
		known := reg.Types(kind)
		hint := "known: " + strings.Join(known, ", ")
		if c := closest(typ, known); c != "" {
			hint = fmt.Sprintf("did you mean %q? known: %s", c, strings.Join(known, ", "))
		}
		p.addf("%s.type: unknown %s type %q (%s)", path, kind, typ, hint)
		return nil
	}
	rest := map[string]any{}
	for k, v := range sec {
		if k != "name" && k != "type" && !(kind == pipeline.KindSink && (k == "retry" || k == "accept")) {
			rest[k] = v
		}
	}
	spec := &pipeline.ComponentSpec{Name: name, Type: typ, Config: f.DefaultConfig(), Retry: pipeline.DefaultRetryPolicy()}
	if kind == pipeline.KindSink {
		if r, has := sec["retry"]; has {
			n := len(p.list)
			decodeStrict(r, &spec.Retry, path+".retry", p)
			if len(p.list) == n {
				p.add(path+".retry", spec.Retry.Validate())
			}
		}
		if a, has := sec["accept"]; has {
			n := len(p.list)
			decodeStrict(a, &spec.Accept, path+".accept", p)
			if len(p.list) == n {
				p.add(path+".accept", spec.Accept.Validate())
			}
		}
	}
	n := len(p.list)
	common := []string{"name", "type"}
	if kind == pipeline.KindSink {
		common = append(common, "retry", "accept")
	}
	decodeStrict(rest, spec.Config, path, p, common...)
	// Validate even after decode problems, so that every problem of the
	// section is reported at once (a value that failed to decode keeps
	// its default and is not reported twice).
	p.add(path, spec.Config.Validate())
	if !ok || len(p.list) > n {
		return nil
	}
	return spec
}

// decodeStrict decodes in into out, reporting unknown keys and type errors
// with their paths. An unknown key near a known one (those of out, and
// the extra keys its section also takes) is reported with that one.
func decodeStrict(in any, out any, path string, p *problems, extra ...string) {
	var md mapstructure.Metadata
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			sectionDefaults,
			yamlTimeToString,
			durationNeedsUnit,
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.TextUnmarshallerHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
		),
		WeaklyTypedInput: true,
		Metadata:         &md,
		Result:           out,
		TagName:          "koanf",
	})
	if err != nil {
		p.addf("%s: %v", path, err)
		return
	}
	prefix := ""
	if path != "" {
		prefix = path + "."
	}
	if err := dec.Decode(in); err != nil {
		for _, e := range flatten(err) {
			p.addf("%s%s", prefix, cleanDecodeError(e.Error()))
		}
	}
	sort.Strings(md.Unused)
	for _, k := range md.Unused {
		known := siblingKeys(reflect.TypeOf(out), k)
		if !strings.Contains(k, ".") {
			known = append(known, extra...)
		}
		leaf := k[strings.LastIndex(k, ".")+1:]
		p.addf("%s%s: unknown key%s", prefix, k, didYouMean(leaf, known))
	}
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	defaulterType = reflect.TypeFor[pipeline.Defaulter]()
)

// durationNeedsUnit refuses a number for a duration: YAML's 5 would be
// 5ns, not the 5s meant. Zero, which is zero in any unit, passes.
func durationNeedsUnit(from reflect.Type, to reflect.Type, data any) (any, error) {
	if to != durationType {
		return data, nil
	}
	switch from.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		if reflect.ValueOf(data).IsZero() {
			return time.Duration(0), nil
		}
		return nil, fmt.Errorf("%v has no unit: write a duration such as %vs, %vms or %vm", data, data, data, data)
	}
	return data, nil
}

// sectionDefaults gives an optional section (a pointer to a struct that is
// a pipeline.Defaulter, nil when absent) the defaults of the keys it leaves
// out: the defaults, as a tree, with the section's keys over them.
func sectionDefaults(_ reflect.Type, to reflect.Type, data any) (any, error) {
	m, ok := data.(map[string]any)
	if !ok || to.Kind() != reflect.Pointer || to.Elem().Kind() != reflect.Struct || !to.Implements(defaulterType) {
		return data, nil
	}
	def := reflect.New(to.Elem())
	def.Interface().(pipeline.Defaulter).SetDefaults()
	tree, _ := toTree(def).(map[string]any)
	for k, v := range m {
		tree[k] = v
	}
	return tree, nil
}

// yamlTimeToString undoes YAML's implicit timestamp typing, so that a
// value such as start_at: 2026-01-01T00:00:00Z reaches its own parser.
func yamlTimeToString(_ reflect.Type, to reflect.Type, data any) (any, error) {
	if tm, ok := data.(time.Time); ok && to != timeType {
		return tm.Format(time.RFC3339Nano), nil
	}
	return data, nil
}

// cleanDecodeError turns mapstructure's "'key' expected type ..." into
// "key: expected type ...".
func cleanDecodeError(s string) string {
	s = strings.TrimPrefix(s, "decoding failed due to the following error(s):\n\n")
	if strings.HasPrefix(s, "'") {
		if end := strings.Index(s[1:], "'"); end >= 0 {
			return s[1:end+1] + ":" + s[end+2:]
		}
	}
	return s
}

// applyEnv merges AUDITRELAY_* variables into raw.
// applyEnv sets the keys the AUDITRELAY_* variables of environ name. It
// returns the variable behind each key path it set ("sources[0].api_key":
// "AUDITRELAY_SOURCES__0__API_KEY"), so that a problem of that key names
// it. A variable that names no key is refused like an unknown key in the
// file: an override that does nothing is how a mistyped key goes unseen.
func applyEnv(raw map[string]any, environ []string) (map[string]string, error) {
	k := koanf.New(".")
	err := k.Load(env.Provider(".", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(key, val string) (string, any) {
			key = strings.ToLower(strings.TrimPrefix(key, EnvPrefix))
			return strings.ReplaceAll(key, "__", "."), val
		},
	}), nil)
	if err != nil {
		return nil, err
	}
	var errs []error
	keys := k.Keys()
	sort.Strings(keys)
	fromEnv := map[string]string{}
	for _, key := range keys {
		name := EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "__"))
		fromEnv[displayPath(key)] = name
		if err := setPath(raw, strings.Split(key, "."), k.String(key)); err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", name, err))
		}
	}
	return fromEnv, errors.Join(errs...)
}

// displayPath writes a dotted key path as problems do: sources.0.api_key
// is sources[0].api_key.
func displayPath(key string) string {
	var b strings.Builder
	for i, part := range strings.Split(key, ".") {
		switch _, err := strconv.Atoi(part); {
		case err == nil && i > 0:
			fmt.Fprintf(&b, "[%s]", part)
		case i > 0:
			b.WriteString("." + part)
		default:
			b.WriteString(part)
		}
	}
	return b.String()
}

// nameVariables adds to each problem of a key an override set the
// variable it came from; Kubernetes's service links (AUDITRELAY_PORT and
// the like, injected for a Service named auditrelay) get a hint.
func (p *problems) nameVariables(fromEnv map[string]string) {
	for i, msg := range p.list {
		for path, name := range fromEnv {
			rest, ok := strings.CutPrefix(msg, path+":")
			if !ok {
				continue
			}
			hint := ""
			if strings.Contains(rest, "unknown key") && kubernetesServiceLink(name) {
				hint = "; a variable Kubernetes sets for a Service named auditrelay: set enableServiceLinks: false in the pod spec"
			}
			p.list[i] = fmt.Sprintf("%s (from %s):%s%s", path, name, rest, hint)
		}
	}
}

// kubernetesServiceLink reports whether name is one of the variables
// Kubernetes injects for a Service named auditrelay.
func kubernetesServiceLink(name string) bool {
	rest := strings.TrimPrefix(name, EnvPrefix)
	return strings.HasPrefix(rest, "SERVICE_HOST") || strings.HasPrefix(rest, "SERVICE_PORT") || strings.HasPrefix(rest, "PORT")
}

func setPath(node map[string]any, parts []string, val string) error {
	key := parts[0]
	if len(parts) == 1 {
		node[key] = val
		return nil
	}
	next := node[key]
	if idx, err := strconv.Atoi(parts[1]); err == nil {
		list, _ := next.([]any)
		if next != nil && list == nil {
			return fmt.Errorf("%s is not a list", key)
		}
		for len(list) <= idx {
			list = append(list, map[string]any{})
		}
		node[key] = list
		if len(parts) == 2 {
			list[idx] = val
			return nil
		}
		m, ok := list[idx].(map[string]any)
		if !ok {
			return fmt.Errorf("%s[%d] is not a section", key, idx)
		}
		return setPath(m, parts[2:], val)
	}
	m, _ := next.(map[string]any)
	if m == nil {
		if next != nil {
			return fmt.Errorf("%s is not a section", key)
		}
		m = map[string]any{}
		node[key] = m
	}
	return setPath(m, parts[1:], val)
}

// expandRefs replaces ${env:NAME} and ${file:PATH} in every string value.
func expandRefs(node any, path, baseDir string, environ []string, p *problems) any {
	switch v := node.(type) {
	case map[string]any:
		for k, child := range v {
			cp := k
			if path != "" {
				cp = path + "." + k
			}
			v[k] = expandRefs(child, cp, baseDir, environ, p)
		}
	case map[any]any:
		// YAML allows keys that are not strings ({0: x}); they are read as
		// their text, so that decoding reports them as unknown keys.
		m := make(map[string]any, len(v))
		for k, child := range v {
			m[fmt.Sprint(k)] = child
		}
		return expandRefs(m, path, baseDir, environ, p)
	case []any:
		for i, child := range v {
			v[i] = expandRefs(child, fmt.Sprintf("%s[%d]", path, i), baseDir, environ, p)
		}
	case string:
		out, err := expandString(v, baseDir, environ, &p.refs)
		if err != nil {
			p.addf("%s: %v", path, err)
			return v
		}
		return out
	}
	return node
}

func expandString(s, baseDir string, environ []string, refs *[]string) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		end := strings.Index(s[i:], "}")
		if end < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		ref := s[i+2 : i+end]
		b.WriteString(s[:i])
		s = s[i+end+1:]
		kind, arg, _ := strings.Cut(ref, ":")
		switch kind {
		case "env":
			val, ok := lookupEnv(environ, arg)
			if !ok {
				return "", fmt.Errorf("environment variable %s is not set", arg)
			}
			*refs = append(*refs, val)
			b.WriteString(val)
		case "file":
			fp := arg
			if !filepath.IsAbs(fp) {
				fp = filepath.Join(baseDir, fp)
			}
			data, err := os.ReadFile(fp)
			if err != nil {
				return "", fmt.Errorf("reading secret file %s: %v", arg, errors.Unwrap(err))
			}
			val := strings.TrimRight(string(data), "\r\n")
			*refs = append(*refs, val)
			b.WriteString(val)
		default:
			return "", fmt.Errorf("unknown reference ${%s}: use ${env:NAME} or ${file:PATH}", kind)
		}
	}
}

func lookupEnv(environ []string, name string) (string, bool) {
	for i := len(environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(environ[i], "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// Effective returns the configuration as it will run, defaults filled in
// and secrets masked, as a YAML-friendly tree.
func (c *Config) Effective() map[string]any {
	comp := func(s pipeline.ComponentSpec, kind pipeline.Kind) map[string]any {
		m := map[string]any{"name": s.Name, "type": s.Type}
		if cm, ok := toTree(reflect.ValueOf(s.Config)).(map[string]any); ok {
			for k, v := range cm {
				m[k] = v
			}
		}
		if kind == pipeline.KindSink {
			m["retry"] = toTree(reflect.ValueOf(s.Retry))
			if !s.Accept.All() {
				m["accept"] = toTree(reflect.ValueOf(s.Accept))
			}
		}
		return m
	}
	list := func(specs []pipeline.ComponentSpec, kind pipeline.Kind) []any {
		out := []any{}
		for _, s := range specs {
			out = append(out, comp(s, kind))
		}
		return out
	}
	out := map[string]any{
		"sources":          list(c.Spec.Sources, pipeline.KindSource),
		"transforms":       list(c.Spec.Transforms, pipeline.KindTransform),
		"sinks":            list(c.Spec.Sinks, pipeline.KindSink),
		"checkpoint":       comp(c.Spec.Checkpoint, pipeline.KindStore),
		"log":              toTree(reflect.ValueOf(c.Log)),
		"server":           toTree(reflect.ValueOf(c.Server)),
		"telemetry":        toTree(reflect.ValueOf(c.Telemetry)),
		"shutdown_timeout": c.Spec.DrainTimeout.String(),
	}
	if c.Spec.DeadLetter != nil {
		out["dead_letter"] = comp(*c.Spec.DeadLetter, pipeline.KindSink)
	}
	return maskRefs(out, c.refs).(map[string]any)
}

// maskRefs hides the values of references in every string of tree: a
// reference placed in a field that is not a secret must not be printed.
func maskRefs(tree any, refs mask) any {
	switch v := tree.(type) {
	case map[string]any:
		for k, child := range v {
			v[k] = maskRefs(child, refs)
		}
	case []any:
		for i, child := range v {
			v[i] = maskRefs(child, refs)
		}
	case string:
		return refs.hide(v)
	}
	return tree
}

var (
	secretType   = reflect.TypeFor[pipeline.Secret]()
	durationType = reflect.TypeFor[time.Duration]()
)

type textMarshaler interface{ MarshalText() ([]byte, error) }

// toTree converts a config struct to maps keyed by koanf tags, masking
// pipeline.Secret values.
func toTree(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	if v.Type() == secretType {
		return v.Interface().(pipeline.Secret).String()
	}
	if v.Type() == durationType {
		return time.Duration(v.Int()).String()
	}
	if v.CanInterface() && v.Kind() != reflect.Pointer {
		if tm, ok := v.Interface().(textMarshaler); ok {
			b, err := tm.MarshalText()
			if err == nil {
				return string(b)
			}
		}
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return toTree(v.Elem())
	case reflect.Struct:
		m := map[string]any{}
		for i := 0; i < v.NumField(); i++ {
			name, squash, skip := FieldKey(v.Type().Field(i))
			switch {
			case skip:
			case squash:
				if sub, ok := toTree(v.Field(i)).(map[string]any); ok {
					for k, val := range sub {
						m[k] = val
					}
				}
			default:
				m[name] = toTree(v.Field(i))
			}
		}
		return m
	case reflect.Slice, reflect.Array:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = toTree(v.Index(i))
		}
		return out
	case reflect.Map:
		m := map[string]any{}
		for _, k := range v.MapKeys() {
			m[fmt.Sprint(k.Interface())] = toTree(v.MapIndex(k))
		}
		return m
	}
	if v.CanInterface() {
		return v.Interface()
	}
	return nil
}
