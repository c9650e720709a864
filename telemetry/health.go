package telemetry

import (
	"fmt"
	"maps"
	"sort"
	"time"
)

// Status is the health of the process at one instant, as /readyz reports it.
type Status struct {
	// Ready is true when the pipeline runs, no source is stuck or failed
	// and no sink has been failing for longer than sink_failing_after.
	Ready bool `json:"ready"`
	// Problems says why the process is not ready, one line per cause.
	Problems []string       `json:"problems,omitempty"`
	Sources  []SourceStatus `json:"sources"`
	Sinks    []SinkStatus   `json:"sinks"`
	// Degraded lists the transforms that work with less than they should
	// (enrich without its directory) and why; they do not make the process
	// unready: events still flow.
	Degraded map[string]string `json:"degraded,omitempty"`
	// ReloadError is why the last reload failed, until one succeeds; the
	// running configuration stayed in effect, so it does not make the
	// process unready.
	ReloadError string `json:"reload_error,omitempty"`
}

// SourceStatus is the health of one source.
type SourceStatus struct {
	Name    string `json:"name"`
	Healthy bool   `json:"healthy"`
	// LastCommit is when the source last committed a window (nil: not yet).
	LastCommit *time.Time `json:"last_commit,omitempty"`
	// Lag is now minus the committed cursor, in seconds (nil: no commit yet).
	Lag *float64 `json:"checkpoint_lag_seconds,omitempty"`
	// Error is the last failure of the source's run, until it commits again.
	Error string `json:"error,omitempty"`
	// Standby is true while another replica runs the source.
	Standby bool `json:"standby,omitempty"`
}

// SinkStatus is the health of one sink.
type SinkStatus struct {
	Name    string `json:"name"`
	Healthy bool   `json:"healthy"`
	// FailingSince is the first failure since the last acknowledged batch.
	FailingSince *time.Time `json:"failing_since,omitempty"`
	Error        string     `json:"error,omitempty"`
}

// Health computes the current Status. It is safe for concurrent use.
func (t *Telemetry) Health() Status {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	st := Status{Ready: t.running, Sources: []SourceStatus{}, Sinks: []SinkStatus{}, ReloadError: t.reloadError, Degraded: maps.Clone(t.degraded)}
	if !t.running {
		st.Problems = append(st.Problems, errNotRunning.Error())
	}
	for name, s := range t.sources {
		ss := SourceStatus{Name: name, Healthy: true, Error: s.failure, Standby: s.standby}
		if s.standby {
			st.Sources = append(st.Sources, ss)
			continue
		}
		progress := s.since
		if !s.lastCommit.IsZero() {
			lc := s.lastCommit
			ss.LastCommit = &lc
			lag := now.Sub(s.cursor).Seconds()
			ss.Lag = &lag
			if lc.After(progress) {
				progress = lc
			}
		}
		switch {
		case !s.failedAt.IsZero():
			ss.Healthy = false
			st.Problems = append(st.Problems, fmt.Sprintf("source %q failed: %s", name, s.failure))
		case t.running && now.Sub(progress) > t.stuckAfter:
			ss.Healthy = false
			st.Problems = append(st.Problems, fmt.Sprintf("source %q has not committed a window for %s (stuck_after %s)",
				name, now.Sub(progress).Round(time.Second), t.stuckAfter))
		}
		st.Sources = append(st.Sources, ss)
	}
	for name, s := range t.sinks {
		ss := SinkStatus{Name: name, Healthy: true, Error: s.lastError}
		if !s.failingSince.IsZero() {
			fs := s.failingSince
			ss.FailingSince = &fs
			if d := now.Sub(fs); d >= t.sinkFailingAfter {
				ss.Healthy = false
				st.Problems = append(st.Problems, fmt.Sprintf("sink %q has failed every batch for %s (sink_failing_after %s): %s",
					name, d.Round(time.Second), t.sinkFailingAfter, s.lastError))
			}
		}
		st.Sinks = append(st.Sinks, ss)
	}
	sort.Slice(st.Sources, func(i, j int) bool { return st.Sources[i].Name < st.Sources[j].Name })
	sort.Slice(st.Sinks, func(i, j int) bool { return st.Sinks[i].Name < st.Sinks[j].Name })
	sort.Strings(st.Problems)
	st.Ready = len(st.Problems) == 0
	return st
}
