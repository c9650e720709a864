package otlp

import (
	"testing"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/httpbatch/httpbatchtest"
)

func TestConfigValidate(t *testing.T) {
	httpbatchtest.ValidateCases(t, defaultConfig, []httpbatchtest.ConfigCase[*Config]{
		{Name: "defaults", Mod: func(*Config) {}},
		{Name: "http json", Mod: func(c *Config) { c.Protocol, c.Endpoint = ProtocolHTTPJSON, "https://collector:4318" }},
		{Name: "grpc with scheme", Mod: func(c *Config) { c.Endpoint = "https://collector:4317" }},
		{Name: "datadog preset", Mod: func(c *Config) {
			c.Preset = PresetDatadog
			c.Headers = map[string]pipeline.Secret{"dd-api-key": "x"}
		}},
		{Name: "datadog preset without key", Mod: func(c *Config) { c.Preset = PresetDatadog }, Want: []string{"headers:"}},
		{Name: "datadog preset over grpc", Mod: func(c *Config) {
			c.Preset, c.Protocol = PresetDatadog, ProtocolGRPC
			c.Headers = map[string]pipeline.Secret{"dd-api-key": "x"}
		}, Want: []string{"protocol:"}},
		{Name: "unknown preset", Mod: func(c *Config) { c.Preset = "newrelic" }, Want: []string{"preset:"}},
		{Name: "grpc endpoint with path", Mod: func(c *Config) { c.Endpoint = "collector:4317/v1/logs" }, Want: []string{"endpoint:"}},
		{Name: "http endpoint without scheme", Mod: func(c *Config) { c.Protocol, c.Endpoint = ProtocolHTTPProtobuf, "collector:4318" }, Want: []string{"endpoint:"}},
		{Name: "everything wrong", Mod: func(c *Config) {
			c.Protocol, c.Compression, c.Timeout, c.MaxRecords, c.MaxBytes = "udp", "zstd", 0, 0, -1
			c.Body, c.DefaultSeverity, c.ServiceName = "xml", "LOUD", ""
			c.Severity = []any{map[string]any{"match": "login.*", "level": "WARN"}}
			c.TLS.CertFile = "missing.pem"
		}, Want: []string{"protocol:", "compression:", "timeout:", "max_records:", "max_bytes:", "body:", "default_severity: moved",
			"service_name:", "severity: moved", "tls.cert_file:"}},
	})
}

func TestPresetResolution(t *testing.T) {
	tests := []struct {
		preset, site   string
		endpoint, prot string
	}{
		{"", "", "localhost:4317", ProtocolGRPC},
		{PresetDatadogAgent, "", "localhost:4317", ProtocolGRPC},
		{PresetSplunkOTel, "", "localhost:4317", ProtocolGRPC},
		{PresetDatadog, "", "https://otlp.datadoghq.com/v1/logs", ProtocolHTTPProtobuf},
		{PresetDatadog, "datadoghq.eu", "https://otlp.datadoghq.eu/v1/logs", ProtocolHTTPProtobuf},
	}
	for _, tt := range tests {
		t.Run(tt.preset+tt.site, func(t *testing.T) {
			c := defaultConfig()
			c.Preset, c.Site = tt.preset, tt.site
			r := c.resolved()
			if r.Endpoint != tt.endpoint || r.Protocol != tt.prot {
				t.Errorf("got %s %s, want %s %s", r.Endpoint, r.Protocol, tt.endpoint, tt.prot)
			}
			wantComp := "gzip"
			if tt.preset == PresetDatadogAgent || tt.preset == PresetSplunkOTel {
				wantComp = "none"
			}
			if r.Compression != wantComp {
				t.Errorf("compression %q, want %q", r.Compression, wantComp)
			}
			if tt.preset == PresetDatadog && r.Headers["dd-protocol"] != "otlp" {
				t.Errorf("dd-protocol header not set")
			}
		})
	}
}

func TestFactory(t *testing.T) {
	f := NewFactory()
	if f.Type() != "otlp" || f.Kind() != pipeline.KindSink {
		t.Fatalf("factory %s %v", f.Type(), f.Kind())
	}
	cfg := f.DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
	s, err := f.CreateSink(pipeline.Settings{Name: "otel", BaseDir: t.TempDir(), Telemetry: pipeline.NopTelemetry{}}, cfg)
	if err != nil || s == nil {
		t.Fatal(err)
	}
}
