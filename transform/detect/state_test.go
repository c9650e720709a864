package detect

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// failures returns n failed logins from one address, one a minute, ids
// f0, f1, ...: simulator records re-timed into a burst.
func failures(t *testing.T, n int) []pipeline.Event {
	t.Helper()
	corpora(t)
	evs := sameIP(t, openaiEvs, "login.failed", "", 1)
	var out []pipeline.Event
	for i := range n {
		ev := evs[0]
		ev.ID = "f" + string(rune('0'+i))
		ev.Time = simStart.Add(time.Duration(i) * time.Minute)
		out = append(out, ev)
	}
	return out
}

func ids(as []Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

// TestThresholdAcrossWindowsAndRestart: the five failures of a burst
// spread over two windows raise the alert in the second, also when the
// process restarted between them (the state is read back from its
// directory), and the alert is the same in every case.
func TestThresholdAcrossWindowsAndRestart(t *testing.T) {
	r := packRule(t, "openai-login-failures-burst")
	evs := failures(t, 5)

	whole := run(t, newDetect(t, "", r), "acme", evs, 5)
	if len(whole) != 1 {
		t.Fatalf("one window: %d alerts", len(whole))
	}
	split := run(t, newDetect(t, "", r), "acme", evs, 2)
	if !slices.Equal(ids(split), ids(whole)) {
		t.Errorf("windows of two: %v, want %v", ids(split), ids(whole))
	}

	dir := t.TempDir()
	first := newDetect(t, dir, r)
	if a := alertsOf(t, window(t, first, "acme", evs[:3], true)); len(a) != 0 {
		t.Fatalf("three failures: %d alerts", len(a))
	}
	if _, err := os.Stat(filepath.Join(dir, "acme.json")); err != nil {
		t.Fatalf("no state file after a commit: %v", err)
	}
	restarted := newDetect(t, dir, r)
	a := alertsOf(t, window(t, restarted, "acme", evs[3:], true))
	if !slices.Equal(ids(a), ids(whole)) {
		t.Errorf("after a restart: %v, want %v", ids(a), ids(whole))
	}
	if got := a[0].Evidence.EventIDs; !slices.Equal(got, []string{"f0", "f1", "f2", "f3", "f4"}) {
		t.Errorf("evidence %v", got)
	}

	// A window not committed leaves nothing behind: the restart after
	// it counts from the last committed window.
	lost := newDetect(t, t.TempDir(), r)
	window(t, lost, "acme", evs[:3], false)
	again := newDetect(t, lost.store.dir, r)
	if a := alertsOf(t, window(t, again, "acme", evs[3:], true)); len(a) != 0 {
		t.Errorf("an uncommitted window counted after a restart: %v", ids(a))
	}
}

// TestReplayRaisesTheSameAlert: a window delivered again (the engine
// retried it, or the process died before its cursor was saved) raises the
// alert it raised before, with the same id, and no other: before the
// state was committed (the state is as it was) and after (the state
// recognises the window's events and raises their alerts again as they
// were).
func TestReplayRaisesTheSameAlert(t *testing.T) {
	r := packRule(t, "openai-login-failures-burst")
	evs := failures(t, 7)
	dir := t.TempDir()
	d := newDetect(t, dir, r)
	window(t, d, "acme", evs[:2], true)

	attempt := alertsOf(t, window(t, d, "acme", evs[2:], false))
	retry := alertsOf(t, window(t, d, "acme", evs[2:], true))
	if len(attempt) != 1 || !slices.Equal(ids(attempt), ids(retry)) {
		t.Fatalf("attempt %v, retry %v: want one alert, the same", ids(attempt), ids(retry))
	}
	// Killed after the state was saved, before the cursor: a new process
	// reads the window again, with one more event it did not see.
	restarted := newDetect(t, dir, r)
	more := append(slices.Clone(evs[2:]), failures(t, 8)[7])
	replay := alertsOf(t, window(t, restarted, "acme", more, true))
	if !slices.Equal(ids(replay), ids(attempt)) {
		t.Errorf("replay after the state was saved: %v, want %v", ids(replay), ids(attempt))
	}
	// Killed again before that cursor: the same once more.
	third := newDetect(t, dir, r)
	if got := alertsOf(t, window(t, third, "acme", more, true)); !slices.Equal(ids(got), ids(attempt)) {
		t.Errorf("second replay: %v, want %v", ids(got), ids(attempt))
	}
}

// TestFirstSeenStateIsBounded: the first-seen state keeps at most
// max_entries groups, the least recently seen going first, across a
// restart.
func TestFirstSeenStateIsBounded(t *testing.T) {
	r := packRule(t, "openai-new-country-for-user")
	r.Cooldown = 0
	c := DefaultConfig()
	c.Packs, c.Rules, c.MaxEntries = nil, []Rule{r}, 3
	dir := t.TempDir()
	d, err := New(c, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	corpora(t)
	login := sameIP(t, openaiEvs, "login.succeeded", `"country"`, 1)[0]
	user := func(i int, country string, at time.Duration) pipeline.Event {
		ev := login
		ev.ID = "e" + country + string(rune('0'+i))
		ev.Time = simStart.Add(at)
		raw := []byte(`{"id":"` + ev.ID + `","type":"login.succeeded","effective_at":1,"actor":{"type":"session","session":{"user":{"id":"user-` +
			string(rune('0'+i)) + `"},"ip_address":"192.0.2.1","ip_address_details":{"country":"` + country + `"}}}}`)
		ev.SetRaw(raw)
		ev.ActorID, ev.ActorEmail = "user-"+string(rune('0'+i)), "" // as the source indexes it
		return ev
	}
	var evs []pipeline.Event
	for i := range 5 {
		evs = append(evs, user(i, "US", time.Duration(i)*time.Minute))
	}
	window(t, d, "acme", evs, true)
	d2, err := New(c, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Users 2, 3, 4 are remembered; 0 and 1 were forgotten: their new
	// country is learnt, not alerted.
	var next []pipeline.Event
	for i := range 5 {
		next = append(next, user(i, "DE", time.Hour+time.Duration(i)*time.Minute))
	}
	a := alertsOf(t, window(t, d2, "acme", next, true))
	var who []string
	for _, al := range a {
		who = append(who, al.Evidence.Actor)
	}
	if !slices.Equal(who, []string{"user-2", "user-3", "user-4"}) {
		t.Errorf("alerts for %v, want users 2, 3 and 4", who)
	}
}

// TestUnreadableStateStopsTheSource: a state file that cannot be read is
// an error naming it, for good (retrying cannot fix it), not a silent
// start from nothing.
func TestUnreadableStateStopsTheSource(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "acme.json"), []byte(`{"version":9}`), 0o600); err != nil {
		t.Fatal(err)
	}
	d := newDetect(t, dir, packRule(t, "openai-user-deleted"))
	_, err := d.ProcessWindow(t.Context(), "acme", nil)
	if err == nil || !pipeline.IsPermanent(err) || !strings.Contains(err.Error(), filepath.Join(dir, "acme.json")) {
		t.Errorf("error %v, want a permanent one naming the file", err)
	}
}

// countingObserver records the alerts reported per rule and severity.
type countingObserver struct{ n map[string]int }

func (c *countingObserver) AlertsRaised(transform, rule, severity string, n int) {
	c.n[transform+"/"+rule+"/"+severity] += n
}

// TestAlertsCountedOncePerCommit: the alerts of a window are reported to
// the telemetry when the window commits, not at an attempt the engine gave
// up, and a replay of a committed window reports none again.
func TestAlertsCountedOncePerCommit(t *testing.T) {
	r := packRule(t, "openai-login-failures-burst")
	evs := failures(t, 5)
	obs := &countingObserver{n: map[string]int{}}
	d := newDetect(t, t.TempDir(), r)
	d.name, d.observer = "detect", obs
	window(t, d, "acme", evs, false) // an attempt given up
	if len(obs.n) != 0 {
		t.Fatalf("counted before a commit: %v", obs.n)
	}
	window(t, d, "acme", evs, true)
	window(t, d, "acme", evs, true) // the same window replayed
	want := map[string]int{"detect/openai-login-failures-burst/" + r.Severity: 1}
	if !maps.Equal(obs.n, want) {
		t.Fatalf("counted %v, want %v", obs.n, want)
	}
}
