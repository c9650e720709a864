package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/anthropic"
	"github.com/auditrelay/auditrelay/source/anthropic/anthropicsim"
	"github.com/auditrelay/auditrelay/source/httpapi"
)

// TestSimulateAnthropic: simulate --anthropic serves the activity feed on
// the port it was given (0: a free one), says where and what source to
// configure, never prints the key it requires, and the source's client
// reads it there.
func TestSimulateAnthropic(t *testing.T) {
	const key = "sk-ant-api01-simulate-canary-7d2e"
	out, stop := startSimulate(t, "type: anthropic_compliance_activities",
		"--anthropic", "--listen", "127.0.0.1:0", "--seed", "4", "--activities", "300", "--span", "2h", "--rate", "0",
		"--api-key", key, "--faults", "0.3", "--fault-kinds", "503,529", "--latency", "1ms")
	base := regexp.MustCompile(`API \(base_url\):\s+(http://127\.0\.0\.1:\d+) `).FindStringSubmatch(out)
	if base == nil || strings.Contains(base[1], ":8080") {
		t.Fatalf("simulate does not say the address it was given:\n%s", out)
	}
	for _, w := range []string{"base_url: " + base[1], "${env:ANTHROPIC_COMPLIANCE_KEY}", "300 activities", "600 requests a minute"} {
		if !strings.Contains(out, w) {
			t.Errorf("stdout lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, key) {
		t.Fatal("the key is printed")
	}
	c := anthropic.NewClient(pipeline.Secret(key), 0, httpapi.Config{BaseURL: base[1],
		Retry: httpapi.Retry{MaxRetries: 10, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond}})
	l := httpapi.Lister{Client: c, Path: "/v1/compliance/activities", CursorParam: "after_id", LimitParam: "limit", Limit: 50,
		Decode: func(body []byte) (httpapi.Page, error) { return anthropic.DecodePage(body, "sim", time.Now()) }}
	n := 0
	if _, err := l.Walk(t.Context(), nil, nil, func(p httpapi.Page) bool { n += len(p.Events); return true }); err != nil {
		t.Fatal(err)
	}
	if n != 300 {
		t.Fatalf("read %d activities, want 300", n)
	}
	code, errs := stop()
	if code != exitOK {
		t.Fatalf("exit %d after Ctrl-C: %s", code, errs)
	}
	var st anthropicsim.Stats
	if err := json.Unmarshal([]byte(strings.TrimSpace(errs)), &st); err != nil {
		t.Fatalf("stderr is not the counters: %v\n%s", err, errs)
	}
	if st.Activities != 300 || st.Faults[anthropicsim.Fault503]+st.Faults[anthropicsim.Fault529] == 0 {
		t.Fatalf("counters %+v", st)
	}
}
