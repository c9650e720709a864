package config_test

import (
	"strings"
	"testing"

	"github.com/auditrelay/auditrelay/config"
	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/file"
	"github.com/auditrelay/auditrelay/sinks/splunkhec"
	"github.com/auditrelay/auditrelay/source/checkpoint"
	"github.com/auditrelay/auditrelay/source/openai"
	"github.com/auditrelay/auditrelay/transform/enrich"
)

// TestDidYouMean: an unknown key or type near a known one names it, at
// every depth (a squashed section, a nested one, an element of a list, a
// sink's retry); one far from every known key or type gets no guess.
func TestDidYouMean(t *testing.T) {
	reg, err := pipeline.NewRegistry(openai.NewFactory(nil), file.NewFactory(), splunkhec.NewFactory(),
		enrich.NewFactory(), checkpoint.NewFileFactory())
	if err != nil {
		t.Fatal(err)
	}
	const src = "sources:\n  - {name: acme, type: openai_audit_logs, api_key: k}\n"
	const hec = "sinks:\n  - type: splunk_hec\n    endpoint: https://splunk.example:8088\n    token: t\n"
	for _, tc := range []struct {
		name, yaml string
		want       string // the whole problem
	}{
		{"key of a sink", src + "sinks:\n  - {type: splunk_hec, endpiont: https://splunk.example:8088, token: t}\n",
			`sinks[0].endpiont: unknown key (did you mean "endpoint"?)`},
		{"key of a nested section", src + hec + "    ack: {enabeld: true}\n",
			`sinks[0].ack.enabeld: unknown key (did you mean "enabled"?)`},
		{"key of the tls section", src + hec + "    tls: {ca_fil: ca.pem}\n",
			`sinks[0].tls.ca_fil: unknown key (did you mean "ca_file"?)`},
		{"key of a squashed section", "sources:\n  - {name: acme, type: openai_audit_logs, api_key: k, base_ur: 'https://x'}\n" + hec,
			`sources[0].base_ur: unknown key (did you mean "base_url"?)`},
		{"key of a list element", src + hec + "transforms:\n  - {type: enrich, severity: [{match: 'login.*', levl: high}]}\n",
			`transforms[0].severity[0].levl: unknown key (did you mean "level"?)`},
		{"the name every component takes", src + "sinks:\n  - {nmae: hec, type: splunk_hec, endpoint: 'https://s:8088', token: t}\n",
			`sinks[0].nmae: unknown key (did you mean "name"?)`},
		{"key of a sink's retry", src + hec + "    retry: {max_elapse: 1m}\n",
			`sinks[0].retry.max_elapse: unknown key (did you mean "max_elapsed"?)`},
		{"top-level key", src + hec + "shutdown_timout: 5s\n",
			`shutdown_timout: unknown key (did you mean "shutdown_timeout"?)`},
		{"type of a sink", src + "sinks:\n  - {type: splunk_heck, endpoint: 'https://s:8088', token: t}\n",
			`sinks[0].type: unknown sink type "splunk_heck" (did you mean "splunk_hec"? known: file, splunk_hec)`},
		{"type of a source", "sources:\n  - {name: acme, type: openai_audit_log, api_key: k}\n" + hec,
			`sources[0].type: unknown source type "openai_audit_log" (did you mean "openai_audit_logs"? known: openai_audit_logs)`},
		{"far-off key", src + hec + "    colour: red\n", `sinks[0].colour: unknown key`},
		{"far-off short key", src + hec + "    x: 1\n", `sinks[0].x: unknown key`},
		{"far-off type", src + "sinks:\n  - {type: elasticsearch}\n", `sinks[0].type: unknown sink type "elasticsearch" (known: file, splunk_hec)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tc.yaml), t.TempDir(), reg, nil)
			ce, ok := err.(*config.Error)
			if !ok {
				t.Fatalf("err = %v, want *config.Error", err)
			}
			found := false
			for _, p := range ce.Problems {
				found = found || p == tc.want
			}
			if !found {
				t.Errorf("no problem is %q; got:\n  %s", tc.want, strings.Join(ce.Problems, "\n  "))
			}
		})
	}
}
