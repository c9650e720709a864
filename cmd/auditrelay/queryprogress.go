package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// walkProgress draws one line on a terminal, redrawn after each page, with
// how far a query command (export, stats) has read [since, until): events,
// pages, rate, the oldest time read, the share of the range and the time
// left. Both APIs are read newest first, so the part of the range read is
// [oldest event read, until): that, not the count of the first pages, is
// what the share and the time left come from. The API never says how many
// events the range holds.
//
// The ChatGPT compliance logs are files read oldest first (overFiles):
// there the walk has read [since, the end_time of the last file read),
// and the line counts files, not pages.
type walkProgress struct {
	w            io.Writer
	label        string
	on           bool
	since, until time.Time
	start        time.Time
	// frac0 and events0 are where this run started (a resumed export
	// starts part way): the pace counts this run's work only.
	frac0   float64
	events0 int64

	events, pages int64
	oldest        time.Time
	drawn         time.Time
	shown         bool
	// unit is what pages counts (pages, or files); forward says the walk
	// goes oldest first, oldest then being the newest time read.
	unit    string
	forward bool
	// now is the clock (time.Now; a test's own).
	now func() time.Time
}

// progressEvery bounds how often the line is redrawn: pages can come
// faster than anyone reads.
const progressEvery = 200 * time.Millisecond

// newWalkProgress returns the progress of a walk of [since, until) that
// has read events in pages back to oldest already (zero: a new walk); it
// draws on w only when on.
func newWalkProgress(w io.Writer, label string, on bool, since, until time.Time, events, pages int64, oldest time.Time) *walkProgress {
	return &walkProgress{w: w, label: label, on: on, since: since, until: until, start: time.Now(), now: time.Now,
		frac0: covered(since, until, oldest), events0: events, events: events, pages: pages, oldest: oldest, unit: "pages"}
}

// overFiles makes p the progress of a walk over files, oldest first when
// forward: its time is then the end_time of the last file read, and the
// range read [since, that time).
func (p *walkProgress) overFiles(forward bool) *walkProgress {
	p.unit, p.forward = "files", forward
	p.frac0 = p.covered()
	return p
}

// covered is the share of the range read.
func (p *walkProgress) covered() float64 {
	if p.forward {
		if p.oldest.IsZero() {
			return 0
		}
		return 1 - covered(p.since, p.until, p.oldest)
	}
	return covered(p.since, p.until, p.oldest)
}

// listing draws, before the walk reads anything, how many files the
// listing has found so far.
func (p *walkProgress) listing(files int) {
	now := p.now()
	if !p.on || (p.shown && now.Sub(p.drawn) < progressEvery) {
		return
	}
	p.drawn = now
	p.draw(fmt.Sprintf("%s: listing the files: %d so far", p.label, files))
}

// drawsProgress reports whether a progress line may be drawn on w: a
// terminal, where a line is redrawn in place. Elsewhere (a file, a pipe, a
// CI log) redrawn lines would pile up as noise around what a script reads,
// so the commands stay quiet there and say what they did at the end. A
// writer may say it is a terminal (tests do).
func drawsProgress(w io.Writer) bool {
	if t, ok := w.(interface{ IsTerminal() bool }); ok {
		return t.IsTerminal()
	}
	return isTerminal(w)
}

// update records the totals after a page, the oldest event read so far
// (zero when the page was empty), and redraws the line: the first time, and
// then at most every progressEvery.
func (p *walkProgress) update(events, pages int64, oldest time.Time) {
	p.events, p.pages = events, pages
	if !oldest.IsZero() {
		p.oldest = oldest
	}
	now := p.now()
	if !p.on || (p.shown && now.Sub(p.drawn) < progressEvery) {
		return
	}
	p.drawn = now
	p.draw(p.render(now.Sub(p.start), false))
}

// finish draws the last state (the whole range when complete, the walk
// having reached its end) and ends the line.
func (p *walkProgress) finish(complete bool) {
	if !p.on {
		return
	}
	p.draw(p.render(p.now().Sub(p.start), complete))
	fmt.Fprintln(p.w)
}

func (p *walkProgress) draw(line string) {
	fmt.Fprint(p.w, "\r\033[K"+line)
	p.shown = true
}

// render formats the line after elapsed of this run.
func (p *walkProgress) render(elapsed time.Duration, complete bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d events, %d %s", p.label, p.events, p.pages, p.unit)
	if s := elapsed.Seconds(); s >= 1 {
		fmt.Fprintf(&b, ", %.0f events/s", float64(p.events-p.events0)/s)
	}
	frac := p.covered()
	if complete {
		frac = 1
	}
	if !p.oldest.IsZero() {
		dir := "back to"
		if p.forward {
			dir = "up to"
		}
		fmt.Fprintf(&b, ", %s %s", dir, p.oldest.UTC().Format("2006-01-02 15:04"))
	}
	bar := slices.Repeat([]byte{'#'}, int(frac*20))
	bar = append(bar, slices.Repeat([]byte{'.'}, 20-len(bar))...)
	fmt.Fprintf(&b, " [%s] %3d%%", bar, int(100*frac))
	if left, ok := timeLeft(p.frac0, frac, elapsed); ok && !complete {
		fmt.Fprintf(&b, " ETA %s", left.Round(time.Second))
	}
	return b.String()
}

// covered returns the share of [since, until) a newest-first walk has read
// once the oldest event it read is at oldest (zero: nothing read yet).
func covered(since, until, oldest time.Time) float64 {
	span := until.Sub(since)
	if oldest.IsZero() || span <= 0 {
		return 0
	}
	return min(max(float64(until.Sub(oldest))/float64(span), 0), 1)
}

// timeLeft estimates the time until a walk covers its whole range, at the
// pace of this run: from the share frac0 to frac in elapsed. ok is false
// until the run has covered 1% of the range and taken 2 s, since an
// estimate from a page or two swings by minutes.
//
// It assumes the events are spread evenly over the range. When the range
// reaches back before the oldest event the API holds, the walk ends early
// and the estimate was too long; nothing short of reading the range tells.
func timeLeft(frac0, frac float64, elapsed time.Duration) (time.Duration, bool) {
	run := frac - frac0
	if run < 0.01 || elapsed < 2*time.Second || frac >= 1 {
		return 0, false
	}
	return time.Duration(float64(elapsed) * (1 - frac) / run), true
}
