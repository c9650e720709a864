package chatgpt

import (
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/openai"
)

func validConfig() *Config {
	c := DefaultConfig()
	c.APIKey = "sk-compliance-secret-canary"
	c.WorkspaceID = "3f2b8f9e-7d4c-4a7e-9a55-2f3c9e1d0b6a"
	return c
}

// TestConfigDefaultsValid: the defaults with a key and a workspace are a
// valid config, and read every known event type.
func TestConfigDefaultsValid(t *testing.T) {
	c := validConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(c.EventTypes) != 9 || c.KeepContent || c.PageSize != 100 || c.PollInterval != 5*time.Minute {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	org := validConfig()
	org.WorkspaceID, org.OrganizationID = "", "org-AbC123"
	if err := org.Validate(); err != nil {
		t.Fatal(err)
	}
	if org.principalPath() != "/organizations/org-AbC123/logs" || c.principalPath() != "/workspaces/"+c.WorkspaceID+"/logs" {
		t.Fatalf("paths %s, %s", org.principalPath(), c.principalPath())
	}
}

// TestConfigErrorsNameTheirKey: each key set wrong alone gives one error
// that names it, and says what to do where a person could be confused;
// the key never appears.
func TestConfigErrorsNameTheirKey(t *testing.T) {
	tests := []struct {
		key  string
		set  func(c *Config)
		hint string
	}{
		{"base_url", func(c *Config) { c.BaseURL = "ftp://x" }, ""},
		{"api_key", func(c *Config) { c.APIKey = "" }, "Compliance API key"},
		{"api_key", func(c *Config) { c.APIKey = "sk-secret canary" }, "white space"},
		{"workspace_id", func(c *Config) { c.WorkspaceID = "" }, "organization_id"},
		{"workspace_id", func(c *Config) { c.WorkspaceID = "org-AbC123" }, "set it as organization_id"},
		{"workspace_id", func(c *Config) { c.WorkspaceID = "a/b" }, "not an id"},
		{"organization_id", func(c *Config) { c.OrganizationID = "org-AbC123" }, "not both"},
		{"organization_id", func(c *Config) { c.WorkspaceID, c.OrganizationID = "", "3f2b8f9e" }, "workspace_id"},
		{"event_types", func(c *Config) { c.EventTypes = nil }, ""},
		{"event_types[1]", func(c *Config) { c.EventTypes = []string{"AUDIT_LOG", "audit_log"} }, "upper case"},
		{"event_types[1]", func(c *Config) { c.EventTypes = []string{"AUDIT_LOG", "AUDIT_LOG"} }, "twice"},
		{"start_at", func(c *Config) { c.StartAt = openai.StartAt{Time: time.Now().Add(time.Hour)} }, "future"},
		{"poll_interval", func(c *Config) { c.PollInterval = 0 }, ""},
		{"page_size", func(c *Config) { c.PageSize = 0 }, ""},
		{"page_size", func(c *Config) { c.PageSize = 101 }, ""},
		{"max_window_events", func(c *Config) { c.MaxWindowEvents = 0 }, ""},
		{"batch_size", func(c *Config) { c.BatchSize = 0 }, ""},
		{"dedup_ids", func(c *Config) { c.DedupIDs = -1 }, ""},
		{"on_invalid_event", func(c *Config) { c.OnInvalidEvent = "skip" }, ""},
		{"max_file_bytes", func(c *Config) { c.MaxFileBytes = 0 }, ""},
		{"max_line_bytes", func(c *Config) { c.MaxLineBytes = 10 }, ""},
		{"timeout", func(c *Config) { c.Timeout = 0 }, ""},
		{"download_timeout", func(c *Config) { c.DownloadTimeout = 0 }, ""},
		{"max_retries", func(c *Config) { c.MaxRetries = -1 }, ""},
		{"retry_wait_min", func(c *Config) { c.RetryWaitMin = 0; c.RetryWaitMax = time.Second }, ""},
		{"retry_wait_max", func(c *Config) { c.RetryWaitMax = time.Millisecond }, ""},
		{"max_retry_after", func(c *Config) { c.MaxServerWait = 0 }, ""},
		{"tls.min_version", func(c *Config) { c.TLS.MinVersion = "1.1" }, ""},
		{"tls", func(c *Config) { c.BaseURL = "http://proxy.internal/v1/compliance"; c.TLS.Enabled = true }, "plaintext"},
	}
	for _, tt := range tests {
		c := validConfig()
		tt.set(c)
		err := c.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tt.key+":") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want one error naming it", tt.key, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.hint) || strings.Contains(err.Error(), "canary") {
			t.Errorf("%s: %v; want %q in it and no key", tt.key, err, tt.hint)
		}
	}
}

// TestConfigDeadLetterNeedsSink and the warnings: dead_letter without a
// dead-letter sink is refused; plain http to another host and a type
// auditrelay does not know are warned about.
func TestConfigSpecAndWarnings(t *testing.T) {
	c := validConfig()
	c.OnInvalidEvent = InvalidDeadLetter
	if err := c.CheckSpec("acme", pipeline.Spec{}); err == nil || !strings.HasPrefix(err.Error(), "on_invalid_event:") {
		t.Fatalf("CheckSpec = %v", err)
	}
	if err := c.CheckSpec("acme", pipeline.Spec{DeadLetter: &pipeline.ComponentSpec{}}); err != nil {
		t.Fatal(err)
	}
	c.BaseURL = "http://proxy.internal/v1/compliance"
	c.EventTypes = []string{"AUDIT_LOG", "FUTURE_LOG"}
	ws := c.Warnings()
	if len(ws) != 2 || !strings.HasPrefix(ws[0].Error(), "base_url:") || !strings.HasPrefix(ws[1].Error(), "event_types[1]:") {
		t.Fatalf("warnings %v", ws)
	}
	c.BaseURL = "http://127.0.0.1:8080/v1/compliance"
	c.EventTypes = nil
	if ws := c.Warnings(); len(ws) != 0 {
		t.Fatalf("warnings %v", ws)
	}
}
