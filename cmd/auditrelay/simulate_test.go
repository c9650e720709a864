package main

import (
	"context"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/chatgpt"
	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
)

// startSimulate runs `auditrelay simulate args...` until the test ends, and
// returns its stdout once it holds want, with a function that stops it
// (Ctrl-C) and returns its exit code and stderr.
func startSimulate(t *testing.T, want string, args ...string) (string, func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		m := &Main{Stdout: &out, Stderr: &errb}
		done <- m.Run(ctx, append([]string{"simulate"}, args...))
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	for !strings.Contains(out.String(), want) {
		changed := out.changed()
		if strings.Contains(out.String(), want) {
			break
		}
		select {
		case <-changed:
		case code := <-done:
			done <- code
			t.Fatalf("simulate ended (exit %d) before it said %q\nstdout: %s\nstderr: %s", code, want, out.String(), errb.String())
		}
	}
	return out.String(), func() (int, string) {
		cancel()
		code := <-done
		done <- code
		return code, errb.String()
	}
}

// TestSimulateChatGPT: simulate --chatgpt serves the API and the download
// host on the ports it was given (0: free ones), says which, and what
// workspace to configure; the source's own client reads it there, the key
// never goes to the download host and is never printed.
func TestSimulateChatGPT(t *testing.T) {
	const key = "sk-simulate-canary-5e1d"
	out, stop := startSimulate(t, "auditrelay list --api chatgpt",
		"--chatgpt", "--listen", "127.0.0.1:0", "--download-listen", "127.0.0.1:0", "--seed", "4",
		"--span", "3h", "--interval", "20m", "--lines", "3", "--types", "AUDIT_LOG,CONVERSATION_MESSAGE",
		"--api-key", key, "--faults", "0.4", "--fault-kinds", "500,digest", "--latency", "1ms")
	base := regexp.MustCompile(`API \(base_url\):\s+(http://127\.0\.0\.1:\d+/v1/compliance)\n`).FindStringSubmatch(out)
	dl := regexp.MustCompile(`download host:\s+http://(127\.0\.0\.1:\d+) `).FindStringSubmatch(out)
	ws := regexp.MustCompile(`workspace_id:\s+([0-9a-f-]{36}) `).FindStringSubmatch(out)
	if base == nil || dl == nil || ws == nil {
		t.Fatalf("simulate does not say its addresses and workspace:\n%s", out)
	}
	if strings.HasSuffix(dl[1], ":8081") || strings.Contains(base[1], ":8080/") {
		t.Fatalf("the default ports were bound, not the ones asked for:\n%s", out)
	}
	for _, w := range []string{"type: chatgpt_compliance_logs", "base_url: " + base[1], "workspace_id: " + ws[1], "${env:CHATGPT_COMPLIANCE_KEY}",
		"2 event types", "--base-url " + base[1] + " --workspace " + ws[1]} {
		if !strings.Contains(out, w) {
			t.Errorf("stdout lacks %q:\n%s", w, out)
		}
	}

	cfg := *chatgpt.DefaultConfig()
	cfg.BaseURL, cfg.APIKey, cfg.WorkspaceID = base[1], pipeline.Secret(key), ws[1]
	cfg.RetryWaitMin, cfg.RetryWaitMax = time.Millisecond, 5*time.Millisecond
	c, err := chatgpt.NewClient(pipeline.Settings{Name: "test"}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	files, records := 0, 0
	for f, err := range c.ListFiles(t.Context(), "AUDIT_LOG", time.Now().Add(-4*time.Hour)) {
		if err != nil {
			t.Fatal(err)
		}
		files++
		r, err := c.Open(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := r.Next(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			records++
		}
		r.Close()
	}
	// 3 hours of 20-minute files: 8 or 9 of them, as the phase of the type
	// falls.
	if files < 8 || files > 9 || records < files {
		t.Fatalf("%d files, %d records of AUDIT_LOG over 3h at one file every 20m", files, records)
	}

	code, errs := stop()
	if code != exitOK {
		t.Fatalf("exit %d after Ctrl-C: %s", code, errs)
	}
	var st chatgptsim.Stats
	if err := json.Unmarshal([]byte(strings.TrimSpace(errs)), &st); err != nil {
		t.Fatalf("stderr is not the counters: %v\n%s", err, errs)
	}
	if st.Requests[chatgptsim.EndpointDownload][200] < int64(files) || st.Faults[chatgptsim.FaultDigest]+st.Faults[chatgptsim.Fault500] == 0 || st.AuthOnDownload != 0 {
		t.Fatalf("counters: %+v", st)
	}
	if strings.Contains(out+errs, key) {
		t.Fatal("the API key was printed")
	}
}

// TestSimulateWithoutChatGPTIsTheOpenAISimulator: the flag adds a
// simulator; without it, simulate serves OpenAI's Admin API as before.
func TestSimulateWithoutChatGPTIsTheOpenAISimulator(t *testing.T) {
	out, stop := startSimulate(t, "(Ctrl-C stops)", "--listen", "127.0.0.1:0", "--events", "10", "--org-logs", "10")
	if !regexp.MustCompile(`^simulator serving 10 audit events at http://127\.0\.0\.1:\d+/v1, counters at`).MatchString(out) {
		t.Fatalf("stdout: %s", out)
	}
	if code, errs := stop(); code != exitOK || !strings.Contains(errs, `"Requests"`) && !strings.Contains(errs, `"requests"`) {
		t.Fatalf("exit %d: %s", code, errs)
	}
}
