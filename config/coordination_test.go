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

// TestKafkaStoreAndCoordination: the combinations of the Kafka sink, the
// Kafka cursor store and its coordination of replicas are checked when the
// config is loaded, each problem under its key.
func TestKafkaStoreAndCoordination(t *testing.T) {
	reg, err := pipeline.NewRegistry(openai.NewFactory(nil), file.NewFactory(), kafka.NewFactory(),
		kafka.NewStoreFactory(), checkpoint.NewFileFactory())
	if err != nil {
		t.Fatal(err)
	}
	const sources = `
sources:
  - {name: acme, type: openai_audit_logs, api_key: sk-x}
`
	const eos = sources + `sinks:
  - {name: events, type: kafka, brokers: ["127.0.0.1:9092"], topic: audit, exactly_once: true}
  - {name: archive, type: file, path: audit.jsonl}
`
	const plain = sources + `sinks:
  - {name: events, type: kafka, brokers: ["127.0.0.1:9092"], topic: audit}
  - {name: archive, type: file, path: audit.jsonl}
`
	tests := []struct {
		name string
		yaml string
		want []string // problems; none means valid
	}{
		{"exactly once with the kafka store", eos + "checkpoint: {type: kafka, sink: events}\n", nil},
		{"coordination with defaults", eos + "checkpoint: {type: kafka, sink: events, coordination: {session_timeout: 6s}}\n", nil},
		{"exactly once with file checkpoints", eos + "checkpoint: {type: file, dir: state}\n",
			[]string{"sinks[0].exactly_once: exactly_once needs checkpoint {type: kafka, sink: events}"}},
		{"exactly once through another sink's store", eos + "  - {name: other, type: kafka, brokers: [\"x:1\"], topic: t}\ncheckpoint: {type: kafka, sink: other}\n",
			[]string{"sinks[0].exactly_once: exactly_once needs checkpoint {type: kafka, sink: events}"}},
		{"unknown key", eos + "checkpoint: {type: kafka, sink: events, coordination: {sesion_timeout: 6s}}\n",
			[]string{"checkpoint.coordination.sesion_timeout: unknown key"}},
		{"no such sink", plain + "checkpoint: {type: kafka, sink: nope}\n", []string{`checkpoint.sink: no sink named "nope"`}},
		{"not a kafka sink", plain + "checkpoint: {type: kafka, sink: archive}\n", []string{`checkpoint.sink: sink "archive" is of type file`}},
		{"coordination without exactly once", plain + "checkpoint: {type: kafka, sink: events, coordination: {}}\n",
			[]string{`checkpoint.coordination: replicas hand sources over through Kafka transactions: sink "events" needs exactly_once: true`}},
		{"bad heartbeat", eos + "checkpoint: {type: kafka, sink: events, coordination: {heartbeat_interval: 5s}}\n",
			[]string{"checkpoint.coordination.heartbeat_interval:"}},
		{"the old top-level section", eos + "checkpoint: {type: kafka, sink: events}\ncoordination: {type: kafka, sink: events}\n",
			[]string{"coordination: replicas are now set up in the kafka checkpoint store: move this section to checkpoint.coordination"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tt.yaml), t.TempDir(), reg, nil)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				sc := cfg.Spec.Checkpoint.Config.(*kafka.StoreConfig)
				if strings.Contains(tt.yaml, "coordination") {
					if c := sc.Coordination; c == nil || c.Group != "auditrelay" || c.Topic != "auditrelay-coordination" || c.SessionTimeout != 6*time.Second || c.HeartbeatInterval != time.Second {
						t.Errorf("Coordination = %+v, want the defaults with session_timeout 6s", c)
					}
				} else if sc.Coordination != nil {
					t.Errorf("Coordination = %+v, want nil", sc.Coordination)
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
