package anthropic

import (
	"errors"
	"strings"
	"testing"

	"github.com/auditrelay/auditrelay/pipeline"
)

func TestDefaultConfig(t *testing.T) {
	c := defaultConfig()
	c.APIKey = testKey
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.BaseURL != "https://api.anthropic.com" || c.PageSize != 1000 {
		t.Fatalf("base_url %q, page_size %d", c.BaseURL, c.PageSize)
	}
}

// TestConfigErrorsNameTheirKey: each invalid value is reported with its
// key, all of them at once, and none quotes the key's secret.
func TestConfigErrorsNameTheirKey(t *testing.T) {
	const secret = "sk-ant-api01-SECRET value"
	c := defaultConfig()
	c.APIKey = secret
	c.BaseURL = "https://api.anthropic.com/v1"
	c.PageSize = 5001
	c.ActivityTypes = []string{"sso_login_succeeded"}
	c.ExcludeActivityTypes = []string{"claude_chat_created"}
	c.ActorIDs = []string{" "}
	c.OnInvalidEvent = "skip"
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"base_url: is the API root without /v1",
		"api_key: contains white space",
		"page_size: must be between 1 and 5000, got 5001",
		"exclude_activity_types: cannot be set together with activity_types",
		"actor_ids[0]: must not be empty",
		"on_invalid_event: must be stall or dead_letter",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors %q lack %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Fatal("the key appears in the errors")
	}
	for _, n := range []int{0, 1, 5000} {
		c := defaultConfig()
		c.APIKey, c.PageSize, c.MaxWindowEvents = testKey, n, 5000
		if err := c.Validate(); (err != nil) != (n == 0) {
			t.Errorf("page_size %d: %v", n, err)
		}
	}
}

func TestWarnings(t *testing.T) {
	c := defaultConfig()
	c.APIKey = "sk-ant-api03-ordinary-SECRET"
	c.BaseURL = "http://proxy.example.com"
	ws := errors.Join(c.Warnings()...)
	if ws == nil || !strings.Contains(ws.Error(), "api_key: is an ordinary Claude API key") || !strings.Contains(ws.Error(), "in clear") {
		t.Fatalf("warnings %v", ws)
	}
	if strings.Contains(ws.Error(), "SECRET") {
		t.Fatal("the key appears in a warning")
	}
	c.APIKey, c.BaseURL = testKey, DefaultBaseURL
	if ws := c.Warnings(); len(ws) != 0 {
		t.Fatalf("warnings %v for a good config", ws)
	}
}

func TestDeadLetterNeedsASection(t *testing.T) {
	c := defaultConfig()
	c.OnInvalidEvent = InvalidDeadLetter
	if err := c.CheckSpec("acme", pipeline.Spec{}); err == nil || !strings.Contains(err.Error(), "on_invalid_event") {
		t.Fatalf("err = %v", err)
	}
}
