// Package pager is the bare pager, the floor auditrelay's throughput is
// measured against: it fetches every page of the audit-log API (newest
// first, `after` cursor, limit 100) and writes each event's raw bytes as a
// line, with none of auditrelay's windows, ordering, de-duplication,
// retries or checkpoints. The command test/bench/barepager runs it for the
// end-to-end benchmarks, and source/openai's BenchmarkBackfill in process.
// It is a benchmark reference, not a tool.
package pager

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
)

var client = &http.Client{Timeout: time.Minute}

// ToFile fetches every page of the API at base with the bearer key and
// writes the events to a new file at path. It returns the events and
// pages it read.
func ToFile(base, key, path string) (events, pages int, err error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 256<<10)
	after := ""
	for {
		q := url.Values{"limit": {"100"}}
		if after != "" {
			q.Set("after", after)
		}
		page, err := fetch(base+"/organization/audit_logs?"+q.Encode(), key)
		if err != nil {
			return events, pages, err
		}
		pages++
		for _, ev := range page.Data {
			w.Write(ev)
			w.WriteByte('\n')
		}
		events += len(page.Data)
		if !page.HasMore || len(page.Data) == 0 {
			break
		}
		after = page.LastID
	}
	// As any writer of a file would, but the floor checks nothing: path
	// may be a pipe (/dev/stdout), which cannot be synced.
	w.Flush()
	f.Sync()
	return events, pages, nil
}

type page struct {
	Data    []json.RawMessage `json:"data"`
	LastID  string            `json:"last_id"`
	HasMore bool              `json:"has_more"`
}

func fetch(u, key string) (*page, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		return nil, fmt.Errorf("page failed: %d %v", resp.StatusCode, err)
	}
	p := new(page)
	if err := json.Unmarshal(body, p); err != nil {
		return nil, err
	}
	return p, nil
}
