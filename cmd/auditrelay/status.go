package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// statusLine keeps one line at the bottom of a terminal with the progress
// of the sources that are catching up (a back-fill), redrawn in place. Log
// records written through it go above the line. It is used only when
// stderr is a terminal and the logs are text: a machine reading the logs
// gets the same progress in them ("catching up") and in /metrics. Safe for
// concurrent use.
type statusLine struct {
	w io.Writer

	mu      sync.Mutex
	sources map[string]pipeline.Progress
	shown   string
}

func newStatusLine(w io.Writer) *statusLine {
	return &statusLine{w: w, sources: map[string]pipeline.Progress{}}
}

// Write writes a log record above the status line.
func (s *statusLine) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shown != "" {
		io.WriteString(s.w, "\r\033[K")
	}
	n, err := s.w.Write(p)
	if s.shown != "" {
		io.WriteString(s.w, s.shown)
	}
	return n, err
}

// update records the progress of source (pipeline.Pipeline.OnProgress)
// and redraws the line.
func (s *statusLine) update(source string, p pipeline.Progress) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.Behind() {
		s.sources[source] = p
	} else {
		delete(s.sources, source)
	}
	line := s.render()
	if line == s.shown {
		return
	}
	io.WriteString(s.w, "\r\033[K"+line)
	s.shown = line
}

// clear removes the line.
func (s *statusLine) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shown != "" {
		io.WriteString(s.w, "\r\033[K")
		s.shown = ""
	}
}

// render formats the line: per source, the time reached, the events per
// second, the windows committed and the time left.
func (s *statusLine) render() string {
	names := make([]string, 0, len(s.sources))
	for n := range s.sources {
		names = append(names, n)
	}
	slices.Sort(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		p := s.sources[n]
		eta := "?"
		if p.Remaining > 0 {
			eta = p.Remaining.Round(time.Second).String()
		}
		parts = append(parts, fmt.Sprintf("%s: at %s, %d events/s, windows committed: %d, %s left",
			n, p.Reached.UTC().Format("2006-01-02 15:04"), int64(p.EventsPerSecond), p.Windows, eta))
	}
	return strings.Join(parts, " | ")
}
