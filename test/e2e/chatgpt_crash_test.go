//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
	"github.com/auditrelay/auditrelay/test/internal/benchkit"
)

// chatgptCheckpoint is what the crash test reads of the source's saved
// cursor (state/chatgpt.json): per event type, the end_time of the last
// file read whole and the file in progress.
type chatgptCheckpoint struct {
	Types map[string]struct {
		EndTime time.Time `json:"end_time"`
		File    *struct {
			ID   string `json:"id"`
			Line int64  `json:"line"`
		} `json:"file"`
	} `json:"types"`
}

func readChatGPTCheckpoint(t *testing.T, dir string) (chatgptCheckpoint, bool) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "state", "chatgpt.json"))
	if os.IsNotExist(err) {
		return chatgptCheckpoint{}, false
	}
	var cp chatgptCheckpoint
	if err != nil || json.Unmarshal(raw, &cp) != nil {
		t.Fatalf("checkpoint: %v: %s", err, raw)
	}
	return cp, true
}

// spoolInUse returns the size of the download spool file that process
// pid holds open in dir, -1 when it holds none. The source removes a
// spool file's name as soon as it creates it (so that a kill leaves
// nothing behind): the open descriptor is the way to it.
func spoolInUse(pid int, dir string) int64 {
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		p := fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())
		target, err := os.Readlink(p)
		if err != nil || !strings.HasPrefix(target, filepath.Join(dir, "auditrelay-chatgpt-")) {
			continue
		}
		if st, err := os.Stat(p); err == nil {
			return st.Size()
		}
	}
	return -1
}

// windowCommitted is the JSON log line of a committed window.
var windowCommitted = regexp.MustCompile(`"msg":"window committed"`)

// exitMark is what the crash test appends to a run's log when the process
// exits, so that a wait on the log ends with it.
const exitMark = "-- the process exited --"

// TestChatGPTKill9WhileStreamingBigFile runs the binary against the
// simulator (in this process, over HTTP) with a file of 200,000 lines
// among small ones, into the file sink with file checkpoints, and kills
// it with SIGKILL at random points while that file is streamed, again and
// again, each restart resuming from its checkpoint (which holds the line
// reached inside the file). The kill points are of two kinds: while the
// file downloads, once the spool file reached a random byte offset; and
// while its records are delivered, after the run's first to fifth
// committed window, once the sink file grew by a random part of a window.
// Then a last run finishes. Every event_id of the simulator must be in the
// file sink; the copies a kill causes (the records of the window in
// delivery, written again by the next run that delivers) are at most one
// window, max_window_events, per kill; a kill cuts at most one line short;
// no spool file is left behind.
func TestChatGPTKill9WhileStreamingBigFile(t *testing.T) {
	const (
		bigLines  = 200_000
		maxWindow = 5000
		kills     = 12
		bigType   = "APP_AUTH_LOG"
	)
	start := time.Now()
	sim, base := startChatGPTSim(t, chatgptsim.Options{Seed: 31, Types: []string{bigType, "CONVERSATION_MESSAGE"},
		Interval: time.Hour, Start: time.Now().Add(-6 * time.Hour).Truncate(time.Hour), Lines: 20,
		BigFiles: []chatgptsim.BigFile{{Type: bigType, Index: 1, Lines: bigLines}}})
	big := sim.Files(bigType)[1]
	if big.Lines != bigLines {
		t.Fatalf("the big file has %d lines, want %d", big.Lines, bigLines)
	}
	truth := sim.Truth()
	lineBytes := big.Size / int64(big.Lines)
	cfg := writeChatGPTConfig(t, chatgptConfig(base, sim.WorkspaceID(), fmt.Sprintf("    max_window_events: %d\n    batch_size: 250", maxWindow),
		fileSinkYAML("out/audit.jsonl")))
	dir := filepath.Dir(cfg)
	sinkPath, spoolDir := filepath.Join(dir, "out", "audit.jsonl"), filepath.Join(dir, "spool")
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 31))
	t.Logf("%d records (%d in file %s of %d bytes), %d files; kill seed %d", len(truth.EventIDs), big.Lines, big.ID, big.Size, truth.Files, seed)

	type kill struct {
		how    string
		line   int64 // the checkpoint's line inside the big file after the kill
		wrote  int   // records the killed run wrote to the sink
		copies int   // of those, how many a later run delivered again
	}
	var done []kill
	// seen counts the records read from the sink so far. The records a run
	// writes that are there already are copies of what the last run that
	// wrote any had delivered but not committed when it was killed (a run
	// killed while downloading writes nothing): they count against that
	// kill.
	seen := map[string]int{}
	var offset int64
	torn, lastWriter := 0, -1
	readNew := func() (wrote int) {
		ids, n, next := sinkLines(t, sinkPath, offset)
		offset, torn = next, torn+n
		for _, id := range ids {
			if seen[id]++; seen[id] > 1 && lastWriter >= 0 {
				done[lastWriter].copies++
			}
		}
		return len(ids)
	}
	for run := 0; len(done) < kills; run++ {
		cmd := exec.Command(auditrelayBin(t), "run", "-c", cfg, "--once")
		logs := &benchkit.Output{}
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() {
			err := cmd.Wait()
			logs.Write([]byte("\n" + exitMark + "\n")) // wakes a wait on the log
			exited <- err
		}()
		// The first run is killed while delivering (so that a checkpoint
		// inside the big file exists); every later one starts inside the
		// big file, which it downloads first. A run killed while
		// delivering first commits 1 to spread windows, spread chosen so
		// that the kills cover the file and leave the last run a window
		// or more.
		line := int64(0)
		if len(done) > 0 {
			line = done[len(done)-1].line
		}
		spread := (int64(bigLines)-line)/maxWindow - 1
		spread = min(5, spread/int64(kills-len(done)))
		var how string
		if run > 0 && (spread < 1 || rng.IntN(3) == 0) {
			at := big.Size/20 + rng.Int64N(big.Size*9/10)
			how = fmt.Sprintf("download at byte %d", at)
			pollUntil(exited, 2*time.Minute, func() bool { return spoolInUse(cmd.Process.Pid, spoolDir) >= at })
		} else {
			// After the chosen number of committed windows, once the sink
			// holds a random part of the next window more.
			windows := 1 + rng.IntN(int(max(spread, 1)))
			var sinkAt int64
			if logs.Until(func(out string) bool {
				return strings.Contains(out, exitMark) || len(windowCommitted.FindAllStringIndex(out, -1)) >= windows
			}, 2*time.Minute) == nil {
				sinkAt = fileSize(sinkPath)
			}
			more := 1 + rng.Int64N(maxWindow*lineBytes)
			how = fmt.Sprintf("%d windows + %d KiB", windows, more>>10)
			commits := len(windowCommitted.FindAllStringIndex(logs.String(), -1))
			pollUntil(exited, 2*time.Minute, func() bool {
				return fileSize(sinkPath) >= sinkAt+more || len(windowCommitted.FindAllStringIndex(logs.String(), -1)) > commits
			})
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("run %d exited: %v\n%s", run, err, logs.String())
			}
			t.Fatalf("run %d finished the back-fill before kill %d (%s): the file is too small or the machine too fast for %d kills", run, len(done)+1, how, kills)
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		wrote := readNew()
		cp, ok := readChatGPTCheckpoint(t, dir)
		tc := cp.Types[bigType]
		if !ok || tc.File == nil || tc.File.ID != big.ID {
			// Only a position inside the big file proves the kill fell
			// while it was streamed.
			t.Fatalf("run %d killed (%s) with the checkpoint not inside the big file: %+v", run, how, tc)
		}
		done = append(done, kill{how: how, line: tc.File.Line, wrote: wrote})
		if wrote > 0 {
			lastWriter = len(done) - 1
		}
	}
	if _, stderr, code := runAuditrelay(t, 3*time.Minute, "run", "-c", cfg, "--once"); code != 0 {
		t.Fatalf("the last run exited %d:\n%s", code, stderr)
	}
	readNew()

	var got []string
	for id, n := range seen {
		for range n {
			got = append(got, id)
		}
	}
	missing, dups, unknown := onceEach(t, "file sink", got, truth.EventIDs)
	var report strings.Builder
	worst := 0
	for i, k := range done {
		fmt.Fprintf(&report, "\n  kill %2d: %-30s checkpoint at line %6d of %d; the run wrote %5d records, %4d of them written again later (bound %d)",
			i+1, k.how, k.line, bigLines, k.wrote, k.copies, maxWindow)
		worst = max(worst, k.copies)
	}
	t.Logf("%d kills:%s", len(done), report.String())
	t.Logf("%d records, %d missing, %d unknown; %d copies in all (%.0f per kill, worst %d, bound %d per kill); %d lines cut short; %v",
		len(truth.EventIDs), missing, unknown, dups, float64(dups)/float64(len(done)), worst, maxWindow, torn, time.Since(start).Round(time.Millisecond))
	if missing > 0 || unknown > 0 {
		t.Errorf("%d records missing and %d unknown after %d kills", missing, unknown, len(done))
	}
	if worst > maxWindow || dups > len(done)*maxWindow {
		t.Errorf("a kill caused %d copies (%d in all): more than one window (%d) per kill", worst, dups, maxWindow)
	}
	if torn > len(done) {
		t.Errorf("%d lines cut short after %d kills: more than one per kill", torn, len(done))
	}
	if left, err := os.ReadDir(spoolDir); err != nil || len(left) > 0 {
		t.Errorf("%d spool files are left in spool_dir after %d kills and a finished run (%v)", len(left), len(done), err)
	}
}

// fileSize is the size of the file at path, 0 when there is none.
func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// pollUntil checks cond every few milliseconds until it holds, the
// process whose exit is exited ends, or d passes. For a condition nothing
// announces, such as a file's size.
func pollUntil(exited chan error, d time.Duration, cond func() bool) {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(d)
	for !cond() {
		select {
		case err := <-exited:
			exited <- err
			return
		case <-deadline:
			return
		case <-tick.C:
		}
	}
}
