package sourcetest

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/checkpoint"
)

// The scenarios of an API that answers a time-window source with nothing it
// can use. The vendor serves the broken API and builds its source against
// it; the scenario runs the source and checks what every such source must
// do. noun names the vendor's records in messages, and what only the vendor
// can see (its simulator's count of requests, its kinds of faults) it
// passes in or checks itself.

// Stopped runs s once as the source "acme" and checks that the run fails
// with an error that contains each of want, having delivered no record and
// saved no cursor. It returns the error, for the caller's own checks.
func Stopped(t *testing.T, noun string, s pipeline.Source, want ...string) error {
	t.Helper()
	store := checkpoint.NewMemory()
	var c Collector
	err := RunOnce(t, s, &c, store)
	if err == nil {
		t.Fatalf("the run succeeded; want an error containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("err = %v; want it to contain %q", err, w)
		}
	}
	if len(c.IDs) != 0 {
		t.Fatalf("%d %s delivered by a failed run", len(c.IDs), noun)
	}
	if raw, _ := store.Load(context.Background(), "acme"); raw != nil {
		t.Fatalf("cursor saved by a failed run: %s", raw)
	}
	return err
}

// Refused checks a run of s against an API that refuses it for good (a
// key refused, a wrong base URL): as Stopped, with an error that is
// permanent and does not carry the key.
func Refused(t *testing.T, noun string, s pipeline.Source, key string, want ...string) {
	t.Helper()
	err := Stopped(t, noun, s, want...)
	if !pipeline.IsPermanent(err) {
		t.Fatalf("err = %v; want a permanent error", err)
	}
	if strings.Contains(err.Error(), key) {
		t.Fatal("the key appears in the error")
	}
}

// Garbled checks a run of s, which retries a request retries times,
// against an API whose every answer is broken: each request is retried,
// then the source reports the broken page with a retryable error and
// stops, having moved nothing. requests is how many requests the API took.
func Garbled(t *testing.T, noun string, s pipeline.Source, retries int, requests func() int64) {
	t.Helper()
	err := Stopped(t, noun, s, "not a valid page", fmt.Sprintf("giving up after %d attempt(s)", 1+retries))
	if pipeline.IsPermanent(err) {
		t.Fatalf("err = %v; want a retryable error naming the broken page", err)
	}
	// A broken answer taken for a page would have ended the retries early
	// (or moved on to another request).
	if n, want := requests(), int64(1+retries); n != want {
		t.Fatalf("%d requests, want %d: the first attempt and %d retries", n, want, retries)
	}
}

// Endless checks a run of s, which retries a request retries times,
// against an API that answers the same page forever with more to come: the
// source stops with the repeated page named after a bounded number of
// requests, having moved nothing. requests is how many requests the API
// took.
func Endless(t *testing.T, noun string, s pipeline.Source, retries int, requests func() int64) {
	t.Helper()
	Stopped(t, noun, s, "the API repeated a page")
	// Every walk stops at its second page, retried each time; the walks
	// are the first page of the range and the stretches the limiter let
	// run (at most 16).
	if n := requests(); n > int64(1+16*(2+retries)) {
		t.Fatalf("%d requests to a looping API", n)
	}
}

// Oversize checks a run of s against an API whose pages are far larger
// than the page size asked for: they are refused before they are read
// whole, so that the run allocates at most maxAlloc bytes, and reported,
// having moved nothing.
func Oversize(t *testing.T, noun string, s pipeline.Source, maxAlloc uint64) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	Stopped(t, noun, s, "larger than the")
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > maxAlloc {
		t.Fatalf("%d MiB allocated to refuse oversized pages", grew>>20)
	}
}

// Poisoned is an API that serves, among good records, ones a source can
// never index: a record whose time is not a time, or one outside the
// window asked for.
type Poisoned struct {
	Noun string
	// Source builds the source "acme" against the poisoned API: with
	// deadLetter, with on_invalid_event: dead_letter; without, retrying a
	// request once.
	Source func(t *testing.T, deadLetter bool) pipeline.Source
	// Visible are the ids of the records a complete reader that caught up
	// delivers, Bad those of the poisoned ones among them.
	Visible, Bad []string
	// Errors are what the error of a stalled source may say; it says one
	// of them.
	Errors []string
}

// Poison checks what a source does with poisoned records: by default it
// stalls (retried, reported, the cursor short of them); with
// on_invalid_event: dead_letter they go to the dead-letter sink while
// every other record is delivered and the source goes on.
func Poison(t *testing.T, p Poisoned) {
	var want []string
	for _, id := range p.Visible {
		if !slices.Contains(p.Bad, id) {
			want = append(want, id)
		}
	}
	t.Run("stall", func(t *testing.T) {
		var c Collector
		err := RunOnce(t, p.Source(t, false), &c, checkpoint.NewMemory())
		if err == nil || !slices.ContainsFunc(p.Errors, func(w string) bool { return strings.Contains(err.Error(), w) }) {
			t.Fatalf("err = %v; want the poisoned record named (%q)", err, p.Errors)
		}
		if len(c.IDs) >= len(want) {
			t.Fatalf("%d %s delivered past the poison", len(c.IDs), p.Noun)
		}
	})
	t.Run("dead_letter", func(t *testing.T) {
		var c, dead Collector
		pl := pipeline.Assemble(pipeline.Parts{
			Sources: map[string]pipeline.Source{"acme": p.Source(t, true)}, Sinks: map[string]pipeline.Consumer{"sink": &c},
			DeadLetter: &dead, Store: checkpoint.NewMemory(), DrainTimeout: time.Second,
		})
		if err := pl.Run(t.Context(), pipeline.RunOptions{Once: true}); err != nil {
			t.Fatal(err)
		}
		CheckExactlyOnce(t, c.IDs, want)
		CheckExactlyOnce(t, dead.IDs, p.Bad)
	})
}
