package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/config"
	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/file"
	"github.com/auditrelay/auditrelay/sinks/kafka"
	"github.com/auditrelay/auditrelay/source/checkpoint"
	"github.com/auditrelay/auditrelay/source/openai"
)

func TestCoordinationSection(t *testing.T) {
	reg, err := pipeline.NewRegistry(openai.NewFactory(), file.NewFactory(), kafka.NewFactory(),
		kafka.NewStoreFactory(), checkpoint.NewFileFactory())
	if err != nil {
		t.Fatal(err)
	}
	const base = `
sources:
  - {name: acme, type: openai_audit_logs, api_key: sk-x}
sinks:
  - {name: events, type: kafka, brokers: ["127.0.0.1:9092"], topic: audit, exactly_once: true}
  - {name: archive, type: file, path: audit.jsonl}
`
	const kafkaStore = "checkpoint: {type: kafka, sink: events}\n"
	tests := []struct {
		name string
		yaml string
		want []string // problems; none means valid
	}{
		{"absent", base + kafkaStore, nil},
		{"defaults", base + kafkaStore + "coordination: {sink: events, session_timeout: 6s}\n", nil},
		{"unknown key", base + kafkaStore + "coordination: {sink: events, sesion_timeout: 6s}\n", []string{"coordination", "sesion_timeout"}},
		{"no such sink", base + kafkaStore + "coordination: {sink: nope}\n", []string{`coordination.sink: no sink named "nope"`}},
		{"not a kafka sink", base + kafkaStore + "coordination: {sink: archive}\n", []string{"coordination.sink: sink \"archive\" is of type file"}},
		{"file checkpoints", base + "checkpoint: {type: file, dir: state}\ncoordination: {sink: events}\n", []string{"coordination: replicas need the kafka checkpoint store"}},
		{"bad heartbeat", base + kafkaStore + "coordination: {sink: events, heartbeat_interval: 5s}\n", []string{"coordination.heartbeat_interval:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tt.yaml), t.TempDir(), reg, nil)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if strings.Contains(tt.yaml, "coordination") {
					if cfg.Coordination == nil || cfg.Coordination.Sink != "events" || cfg.Coordination.Group != "auditrelay" || cfg.Coordination.SessionTimeout != 6*time.Second {
						t.Errorf("Coordination = %+v", cfg.Coordination)
					}
				} else if cfg.Coordination != nil {
					t.Errorf("Coordination = %+v, want nil", cfg.Coordination)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse succeeded, want %v", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
