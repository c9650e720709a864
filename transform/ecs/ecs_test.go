package ecs

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/transform/internal/processtest"
	"github.com/auditrelay/auditrelay/transform/transformtest"
)

func mapCorpus(t testing.TB) []pipeline.Event {
	b, err := New(DefaultConfig()).Process(context.Background(), pipeline.Batch{Events: transformtest.Corpus(t)})
	if err != nil {
		t.Fatal(err)
	}
	return b.Events
}

// TestFields holds the OpenAI corpus to the vocabularies (TestVocabulary
// says what) and its sign-ins to the session's details.
func TestFields(t *testing.T) {
	for _, m := range mapEvents(t, transformtest.Corpus(t)) {
		t.Run(m.in.ID+"/"+m.in.Type, func(t *testing.T) {
			for _, e := range checkDoc(m, isKnown(m.in)) {
				t.Error(e)
			}
			o := m.doc
			if o["observer"].(map[string]any)["vendor"] != "OpenAI" {
				t.Error("observer.vendor")
			}
			if strings.HasPrefix(m.in.Type, "login.") {
				src, _ := o["source"].(map[string]any)
				if src["ip"] != "198.51.100.23" || src["geo"].(map[string]any)["city_name"] != "San Francisco" {
					t.Errorf("source %v", src)
				}
				if o["tls"].(map[string]any)["client"].(map[string]any)["ja3"] == "" || o["user_agent"] == nil {
					t.Error("tls.client.ja3 / user_agent.original missing")
				}
				rel := o["related"].(map[string]any)
				if !slices.Contains(rel["user"].([]any), any("grace@acme.example")) {
					t.Errorf("related.user %v", rel["user"])
				}
			}
		})
	}
}

func TestGolden(t *testing.T) {
	transformtest.Golden(t, filepath.Join("testdata", "corpus.golden.jsonl"), transformtest.Lines(t, mapCorpus(t)))
}

func FuzzECS(f *testing.F) { processtest.FuzzMapping(f, New(DefaultConfig())) }

func BenchmarkECS(b *testing.B) { processtest.BenchmarkCorpus(b, New(DefaultConfig())) }
