package config_test

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/auditrelay/auditrelay/config"
)

func TestConfigTelemetryOTLP(t *testing.T) {
	yml := valid + `
telemetry:
  otlp:
    endpoint: https://collector.example:4318
    protocol: http
    headers:
      Authorization: Bearer otlp-s3cr3t
`
	c, err := config.Parse([]byte(yml), t.TempDir(), registry(t), append(env, "AUDITRELAY_TELEMETRY__OTLP__INTERVAL=15s"))
	if err != nil {
		t.Fatal(err)
	}
	o := c.Telemetry.OTLP
	if o.Endpoint != "https://collector.example:4318" || o.Protocol != "http" || o.Interval != 15*time.Second {
		t.Fatalf("telemetry.otlp = %+v", o)
	}
	if o.Headers["Authorization"].Value() != "Bearer otlp-s3cr3t" {
		t.Fatalf("header not decoded")
	}
	out, err := yaml.Marshal(c.Effective())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "otlp-s3cr3t") {
		t.Fatalf("header value in the effective config:\n%s", out)
	}
	if !strings.Contains(string(out), "endpoint: https://collector.example:4318") {
		t.Errorf("effective config lacks telemetry.otlp:\n%s", out)
	}

	// Left out, the push is off and the defaults are shown.
	c, err = config.Parse([]byte(valid), t.TempDir(), registry(t), env)
	if err != nil {
		t.Fatal(err)
	}
	if o := c.Telemetry.OTLP; o.Endpoint != "" || o.Protocol != "grpc" || o.Interval != time.Minute {
		t.Fatalf("default telemetry.otlp = %+v", o)
	}
}

func TestConfigTelemetryOTLPInvalid(t *testing.T) {
	for _, tt := range []struct{ name, section, want string }{
		{"no scheme", "{endpoint: 'collector:4317'}", "telemetry.otlp.endpoint"},
		{"other scheme", "{endpoint: 'ftp://collector:21'}", "telemetry.otlp.endpoint"},
		{"protocol", "{endpoint: 'http://c:4318', protocol: http/json}", "telemetry.otlp.protocol"},
		{"interval", "{endpoint: 'http://c:4318', interval: 0s}", "telemetry.otlp.interval"},
		{"headers without endpoint", "{headers: {Authorization: 'Bearer otlp-s3cr3t'}}", "telemetry.otlp.headers"},
		{"unknown key", "{endpoint: 'http://c:4318', insecure: true}", "insecure"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			yml := valid + "telemetry:\n  otlp: " + tt.section + "\n"
			_, err := config.Parse([]byte(yml), t.TempDir(), registry(t), env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one about %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "otlp-s3cr3t") {
				t.Fatalf("the error shows a header value: %v", err)
			}
		})
	}
}

func TestConfigTelemetryTraces(t *testing.T) {
	yml := valid + `
telemetry:
  otlp:
    endpoint: http://collector.example:4317
  traces:
    enabled: true
    sampling_ratio: 0.25
`
	c, err := config.Parse([]byte(yml), t.TempDir(), registry(t), append(env, "AUDITRELAY_TELEMETRY__TRACES__MAX_QUEUE_SIZE=100"))
	if err != nil {
		t.Fatal(err)
	}
	if tr := c.Telemetry.Traces; !tr.Enabled || tr.SamplingRatio != 0.25 || tr.MaxQueueSize != 100 {
		t.Fatalf("telemetry.traces = %+v", tr)
	}
	c, err = config.Parse([]byte(valid), t.TempDir(), registry(t), env)
	if err != nil {
		t.Fatal(err)
	}
	if tr := c.Telemetry.Traces; tr.Enabled || tr.SamplingRatio != 1 || tr.MaxQueueSize != 2048 {
		t.Fatalf("default telemetry.traces = %+v", tr)
	}
}

func TestConfigTelemetryTracesInvalid(t *testing.T) {
	for _, tt := range []struct{ name, section, want string }{
		{"no endpoint", "traces: {enabled: true}", "telemetry.traces.enabled"},
		{"ratio above 1", "otlp: {endpoint: 'http://c:4317'}\n  traces: {enabled: true, sampling_ratio: 1.5}", "telemetry.traces.sampling_ratio"},
		{"negative ratio", "traces: {sampling_ratio: -0.1}", "telemetry.traces.sampling_ratio"},
		{"queue", "traces: {max_queue_size: 0}", "telemetry.traces.max_queue_size"},
		{"unknown key", "traces: {sampler: always_on}", "sampler"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			yml := valid + "telemetry:\n  " + tt.section + "\n"
			_, err := config.Parse([]byte(yml), t.TempDir(), registry(t), env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one about %s", err, tt.want)
			}
		})
	}
}
