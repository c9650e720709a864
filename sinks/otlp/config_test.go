package otlp

import (
	"testing"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/httpbatch/httpbatchtest"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr []string // each must appear; none means valid
	}{
		{"defaults", func(*Config) {}, nil},
		{"http json", func(c *Config) { c.Protocol, c.Endpoint = ProtocolHTTPJSON, "https://collector:4318" }, nil},
		{"grpc with scheme", func(c *Config) { c.Endpoint = "https://collector:4317" }, nil},
		{"datadog preset", func(c *Config) {
			c.Preset = PresetDatadog
			c.Headers = map[string]pipeline.Secret{"dd-api-key": "x"}
		}, nil},
		{"datadog preset without key", func(c *Config) { c.Preset = PresetDatadog }, []string{"headers:"}},
		{"datadog preset over grpc", func(c *Config) {
			c.Preset, c.Protocol = PresetDatadog, ProtocolGRPC
			c.Headers = map[string]pipeline.Secret{"dd-api-key": "x"}
		}, []string{"protocol:"}},
		{"unknown preset", func(c *Config) { c.Preset = "newrelic" }, []string{"preset:"}},
		{"grpc endpoint with path", func(c *Config) { c.Endpoint = "collector:4317/v1/logs" }, []string{"endpoint:"}},
		{"http endpoint without scheme", func(c *Config) { c.Protocol, c.Endpoint = ProtocolHTTPProtobuf, "collector:4318" }, []string{"endpoint:"}},
		{"everything wrong", func(c *Config) {
			c.Protocol, c.Compression, c.Timeout, c.MaxRecords, c.MaxBytes = "udp", "zstd", 0, 0, -1
			c.Body, c.DefaultSeverity, c.ServiceName = "xml", "LOUD", ""
			c.Severity = []any{map[string]any{"match": "login.*", "level": "WARN"}}
			c.TLS.CertFile = "missing.pem"
		}, []string{"protocol:", "compression:", "timeout:", "max_records:", "max_bytes:", "body:", "default_severity: moved",
			"service_name:", "severity: moved", "tls.cert_file:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaultConfig()
			tt.mod(c)
			httpbatchtest.NamesKeys(t, c.Validate(), tt.wantErr)
		})
	}
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
