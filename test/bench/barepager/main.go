// Command barepager is the floor auditrelay's throughput is measured
// against: it fetches every page of the audit-log API (newest first, `after`
// cursor, limit 100) and writes each event's raw bytes as a line, with none
// of auditrelay's windows, ordering, de-duplication, retries or checkpoints.
// It is a benchmark reference, not a tool; package pager is the pager.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/auditrelay/auditrelay/test/bench/barepager/pager"
)

func main() {
	base := flag.String("base-url", "http://127.0.0.1:8080/v1", "API root")
	out := flag.String("out", "barepager.jsonl", "output file")
	key := flag.String("api-key", "sk-admin-bench", "bearer key")
	flag.Parse()
	start := time.Now()
	n, pages, err := pager.ToFile(*base, *key, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	el := time.Since(start)
	fmt.Printf("barepager: %d events, %d pages in %v: %.0f events/s\n", n, pages, el.Round(time.Millisecond), float64(n)/el.Seconds())
}
