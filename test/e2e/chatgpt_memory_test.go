//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
)

// TestChatGPTMemoryFlatInFileSize reads a file of 20,000 lines and one of
// 200,000 (each with a few small files) through the binary into the file
// sink and compares the peak resident memory of the two processes, as the
// kernel reports it at their exit (getrusage's ru_maxrss of the child,
// from wait4): the source spools a download to disk and reads it line by
// line, so ten times the file may not cost much more memory. Every record
// must arrive.
func TestChatGPTMemoryFlatInFileSize(t *testing.T) {
	const bigType = "APP_AUTH_LOG"
	peak := map[int]int64{}
	for _, lines := range []int{20_000, 200_000} {
		sim, base := startChatGPTSim(t, chatgptsim.Options{Seed: 41, Types: []string{bigType},
			Interval: time.Hour, Start: time.Now().Add(-4 * time.Hour).Truncate(time.Hour), Lines: 20,
			BigFiles: []chatgptsim.BigFile{{Type: bigType, Index: 1, Lines: lines}}})
		f := sim.Files(bigType)[1]
		cfg := writeChatGPTConfig(t, chatgptConfig(base, sim.WorkspaceID(), "    event_types: ["+bigType+"]", fileSinkYAML("audit.jsonl")))
		cmd := exec.Command(auditrelayBin(t), "run", "-c", cfg, "--once", "--log-level", "warn")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%d lines: %v\n%s", lines, err, out)
		}
		ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		if !ok || ru.Maxrss <= 0 {
			t.Fatalf("no peak RSS for the child: %#v", cmd.ProcessState.SysUsage())
		}
		peak[lines] = ru.Maxrss << 10 // KiB on Linux
		ids, torn, _ := sinkLines(t, filepath.Join(filepath.Dir(cfg), "audit.jsonl"), 0)
		if missing, dups, unknown := onceEach(t, "file sink", ids, sim.Truth().EventIDs); missing+dups+unknown+torn > 0 {
			t.Fatalf("%d lines: %d missing, %d twice, %d unknown, %d cut short", lines, missing, dups, unknown, torn)
		}
		st, _ := os.Stat(filepath.Join(filepath.Dir(cfg), "audit.jsonl"))
		t.Logf("file of %d lines (%d MiB), %d records in all: peak RSS %.1f MiB, user %v sys %v; sink %d MiB",
			f.Lines, f.Size>>20, len(ids), float64(peak[lines])/(1<<20), cmd.ProcessState.UserTime().Round(time.Millisecond),
			cmd.ProcessState.SystemTime().Round(time.Millisecond), st.Size()>>20)
	}
	small, large := peak[20_000], peak[200_000]
	if limit := small*3/2 + 8<<20; large > limit {
		t.Errorf("peak RSS %.1f MiB for 200,000 lines against %.1f MiB for 20,000: more than 1.5x + 8 MiB (%.1f MiB); memory grows with the file",
			float64(large)/(1<<20), float64(small)/(1<<20), float64(limit)/(1<<20))
	}
	t.Logf("peak RSS 200k/20k = %.2f", float64(large)/float64(small))
}
