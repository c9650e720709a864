package openai

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// TestPollKeysValidateAlike: both sources name each polling key they share
// when it alone is wrong.
func TestPollKeysValidateAlike(t *testing.T) {
	bad := []struct {
		key, field string
		value      any
	}{
		{"poll_interval", "PollInterval", time.Duration(0)},
		{"page_size", "PageSize", 101},
		{"batch_size", "BatchSize", 0},
		{"overlap", "Overlap", -time.Second},
		{"max_window_events", "MaxWindowEvents", 99},
		{"start_at", "StartAt", StartAt{Time: time.Now().Add(time.Hour)}},
	}
	for _, b := range bad {
		audit, org := defaultConfig(), defaultOrgLogsConfig()
		audit.APIKey, org.APIKey = "sk-admin-x", "sk-admin-x"
		for name, cfg := range map[string]pipeline.Config{"audit": audit, "orglogs": org} {
			reflect.ValueOf(cfg).Elem().FieldByName(b.field).Set(reflect.ValueOf(b.value))
			if err := cfg.Validate(); err == nil || !strings.HasPrefix(err.Error(), b.key+":") || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s with a bad %s: got %v, want one error naming it", name, b.key, err)
			}
		}
	}
}
