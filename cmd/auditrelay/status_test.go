package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// TestStatusLine: the progress of a back-fill stays on the last line of the
// terminal, log records go above it, and it goes away once caught up.
func TestStatusLine(t *testing.T) {
	var term bytes.Buffer
	s := newStatusLine(&term)
	goal := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	s.update("acme", pipeline.Progress{Reached: goal.Add(-48 * time.Hour), Goal: goal, Events: 5000, Windows: 7,
		EventsPerSecond: 1234.5, Remaining: 83 * time.Second})
	if want := "\r\033[Kacme: at 2026-12-03 12:00, 1234 events/s, windows committed: 7, 1m23s left"; term.String() != want {
		t.Fatalf("status line %q, want %q", term.String(), want)
	}
	term.Reset()
	s.Write([]byte("level=INFO msg=\"window committed\"\n"))
	if got := term.String(); !strings.HasPrefix(got, "\r\033[Klevel=INFO") || !strings.HasSuffix(got, "1m23s left") {
		t.Fatalf("a log record is not written above the line: %q", got)
	}
	term.Reset()
	s.update("acme", pipeline.Progress{Reached: goal, Goal: goal, Events: 6000, Windows: 8})
	if term.String() != "\r\033[K" {
		t.Fatalf("caught up: %q, want the line cleared", term.String())
	}
}
