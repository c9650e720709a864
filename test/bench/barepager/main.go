// Command barepager is the floor auditrelay's throughput is measured
// against: it fetches every page of the audit-log API (newest first, `after`
// cursor, limit 100) and writes each event's raw bytes as a line, with none
// of auditrelay's windows, ordering, de-duplication, retries or checkpoints.
// It is a benchmark reference, not a tool.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
)

func main() {
	base := flag.String("base-url", "http://127.0.0.1:8080/v1", "API root")
	out := flag.String("out", "barepager.jsonl", "output file")
	key := flag.String("api-key", "sk-admin-bench", "bearer key")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w := bufio.NewWriterSize(f, 256<<10)
	start := time.Now()
	n, pages := 0, 0
	after := ""
	client := &http.Client{Timeout: time.Minute}
	for {
		q := url.Values{"limit": {"100"}}
		if after != "" {
			q.Set("after", after)
		}
		req, _ := http.NewRequest(http.MethodGet, *base+"/organization/audit_logs?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+*key)
		resp, err := client.Do(req)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			fmt.Fprintln(os.Stderr, "page failed:", resp.StatusCode, err)
			os.Exit(1)
		}
		var page struct {
			Data    []json.RawMessage `json:"data"`
			LastID  string            `json:"last_id"`
			HasMore bool              `json:"has_more"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pages++
		for _, ev := range page.Data {
			w.Write(ev)
			w.WriteByte('\n')
		}
		n += len(page.Data)
		if !page.HasMore || len(page.Data) == 0 {
			break
		}
		after = page.LastID
	}
	w.Flush()
	f.Sync()
	f.Close()
	el := time.Since(start)
	fmt.Printf("barepager: %d events, %d pages in %v: %.0f events/s\n", n, pages, el.Round(time.Millisecond), float64(n)/el.Seconds())
}
