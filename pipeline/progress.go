package pipeline

import (
	"log/slog"
	"time"
)

// Progress is how far a source has read its stream, after a committed
// window.
type Progress struct {
	// Reached is the end of the last committed window (zero for a stream
	// without time), Goal what the source catches up to (zero when
	// unknown).
	Reached, Goal time.Time
	// Events and Windows count what was committed since the source started.
	Events, Windows int64
	// EventsPerSecond is the recent delivery rate.
	EventsPerSecond float64
	// Remaining is the estimated time until Reached meets Goal, from the
	// recent pace; 0 when caught up or not known yet.
	Remaining time.Duration
}

// Behind reports whether the source is catching up (a back-fill) rather
// than following the stream's present.
func (p Progress) Behind() bool {
	return !p.Goal.IsZero() && p.Goal.Sub(p.Reached) > time.Minute
}

// progressLogEvery is how often a back-fill's progress is logged.
const progressLogEvery = 10 * time.Second

// progressTracker follows one source's committed windows.
type progressTracker struct {
	source string
	log    *slog.Logger
	tel    Telemetry
	notify func(string, Progress)

	p         Progress
	last      time.Time // wall time of the last commit
	pace      float64   // source seconds read per wall second, smoothed
	logged    time.Time
	wasBehind bool
}

func newProgressTracker(source string, log *slog.Logger, tel Telemetry, notify func(string, Progress)) *progressTracker {
	return &progressTracker{source: source, log: log, tel: tel, notify: notify, last: time.Now(), logged: time.Now()}
}

// committed records a committed window and reports the progress.
func (t *progressTracker) committed(w Window) {
	now := time.Now()
	dt := now.Sub(t.last).Seconds()
	t.last = now
	const smooth = 0.2
	if dt > 0 {
		rate := float64(len(w.Events)) / dt
		if t.p.Windows == 0 {
			t.p.EventsPerSecond = rate
		} else {
			t.p.EventsPerSecond += smooth * (rate - t.p.EventsPerSecond)
		}
		if !t.p.Reached.IsZero() && !w.End.IsZero() {
			pace := w.End.Sub(t.p.Reached).Seconds() / dt
			if t.pace == 0 {
				t.pace = pace
			} else {
				t.pace += smooth * (pace - t.pace)
			}
		}
	}
	t.p.Events += int64(len(w.Events))
	t.p.Windows++
	if !w.End.IsZero() {
		t.p.Reached = w.End
	}
	t.p.Goal = w.Goal
	t.p.Remaining = 0
	if left := t.p.Goal.Sub(t.p.Reached).Seconds(); left > 0 && t.pace > 0 {
		t.p.Remaining = time.Duration(left / t.pace * float64(time.Second))
	}
	t.tel.Progress(t.source, t.p)
	if t.notify != nil {
		t.notify(t.source, t.p)
	}
	behind := t.p.Behind()
	switch {
	case behind && now.Sub(t.logged) >= progressLogEvery:
		t.logged = now
		t.log.Info("catching up", "source", t.source, "reached", t.p.Reached.UTC().Format(time.RFC3339),
			"goal", t.p.Goal.UTC().Format(time.RFC3339), "events", t.p.Events, "windows", t.p.Windows,
			"events_per_s", int64(t.p.EventsPerSecond), "eta", t.p.Remaining.Round(time.Second))
	case !behind && t.wasBehind:
		t.log.Info("caught up", "source", t.source, "reached", t.p.Reached.UTC().Format(time.RFC3339),
			"events", t.p.Events, "windows", t.p.Windows)
	}
	t.wasBehind = behind
}
