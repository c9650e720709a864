package file

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditrelay/auditrelay/pipeline"
)

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*Config)
		want   []string // keys named by the errors; none = valid
	}{
		{"file", func(c *Config) { c.Path = "export.jsonl" }, nil},
		{"glob", func(c *Config) { c.Path = "exports/*.jsonl"; c.Follow = true }, nil},
		{"stdin", func(c *Config) { c.Path = "-" }, nil},
		{"no path", func(c *Config) {}, []string{"path:"}},
		{"bad glob", func(c *Config) { c.Path = "exports/[.jsonl" }, []string{"path:"}},
		{"stdin follow", func(c *Config) { c.Path = "-"; c.Follow = true }, []string{"follow:"}},
		{"everything wrong", func(c *Config) {
			c.Path = "a"
			c.BatchSize = 0
			c.PollInterval = 0
			c.OnInvalidLine = "ignore"
			c.MaxLineBytes = 1
		}, []string{"batch_size:", "poll_interval:", "on_invalid_line:", "max_line_bytes:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := defaultConfig()
			tc.modify(c)
			err := c.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("%d errors, want %d: %v", len(lines), len(tc.want), err)
			}
			for i, key := range tc.want {
				if !strings.HasPrefix(lines[i], key) {
					t.Errorf("error %q does not name %s", lines[i], key)
				}
			}
		})
	}
}

func TestFactory(t *testing.T) {
	f := NewFactory()
	if f.Type() != "file" || f.Kind() != pipeline.KindSource {
		t.Fatalf("type %q kind %v", f.Type(), f.Kind())
	}
	cases := []struct{ path, want string }{
		{"exports/*.jsonl", filepath.Join("/etc/auditrelay", "exports/*.jsonl")},
		{"/data/a.jsonl", "/data/a.jsonl"},
		{"-", "-"},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			cfg := f.DefaultConfig().(*Config)
			cfg.Path = tc.path
			src, err := f.(pipeline.SourceFactory).CreateSource(pipeline.Settings{Name: "s", BaseDir: "/etc/auditrelay"}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := src.(*Source).cfg.Path; got != tc.want {
				t.Fatalf("path %q, want %q", got, tc.want)
			}
			if cfg.Path != tc.path {
				t.Fatal("the factory changed the config it was given")
			}
		})
	}
}
