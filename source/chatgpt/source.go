package chatgpt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/httpapi"
)

// Type is the source's type in the config.
const Type = "chatgpt_compliance_logs"

// flushEvery is how long a window may gather the records of small files
// before it is handed on, so that a back-fill of many small files commits
// (and shows its progress) every few seconds rather than every
// max_window_events records.
const flushEvery = 5 * time.Second

// Source is the "chatgpt_compliance_logs" source.
type Source struct {
	name   string
	log    *slog.Logger
	cfg    Config
	client *client
	rd     recordReader
	clock  *httpapi.Clock
	now    func() time.Time // the machine's clock
	tracer pipeline.Tracer

	warnedExpired bool // the retention warning was logged
}

var (
	_ pipeline.Source     = (*Source)(nil)
	_ pipeline.BatchSizer = (*Source)(nil)
)

// NewSource returns a source for cfg (already validated). lims shares one
// request limiter per API key among the sources of a process; nil gives
// the source its own.
func NewSource(set pipeline.Settings, cfg Config, lims *httpapi.Limiters) (*Source, error) {
	return newSourceWith(set, cfg, lims, nil)
}

// newSourceWith is NewSource with every request carried by rt when it is
// set.
func newSourceWith(set pipeline.Settings, cfg Config, lims *httpapi.Limiters, rt http.RoundTripper) (*Source, error) {
	s := &Source{name: set.Name, log: set.Log(), cfg: cfg, now: time.Now, tracer: set.Trace(), rd: newRecordReader(set.Name, &cfg)}
	s.clock = httpapi.NewClock(func() time.Time { return s.now() })
	lim := lims.ForBaseURL(cfg.BaseURL, cfg.APIKey.Value(), nil)
	var err error
	if s.client, err = newClient(set, &s.cfg, lim, s.clock, rt); err != nil {
		return nil, err
	}
	return s, nil
}

// BatchSize implements pipeline.BatchSizer.
func (s *Source) BatchSize() int { return s.cfg.BatchSize }

// Start implements pipeline.Component: it checks that a file can be
// spooled, so that a spool_dir that cannot be written fails at start.
func (s *Source) Start(context.Context) error {
	sp, err := newSpool(s.cfg.SpoolDir, s.cfg.MaxFileBytes, s.cfg.MaxLineBytes)
	if err != nil {
		return err
	}
	return sp.Close()
}

// Shutdown implements pipeline.Component. Run removes its spool file
// itself when it returns.
func (s *Source) Shutdown(context.Context) error { return nil }

// run is the state of one Run: the cursor as of the records handled so
// far, and the window being gathered.
type run struct {
	host    pipeline.SourceHost
	cur     cursor
	recent  map[string]*recent
	pending []pipeline.Event
	fetched int
	// start is where the window being gathered begins (the end of the last
	// one); reached is the end_time of the last file read whole, in the
	// order files are read.
	start, reached time.Time
	requests       int64 // the client's count at the last window
	lastEmit       time.Time
	// span is the span of the window being gathered: the listings and
	// downloads that fill it run in it.
	span pipeline.WindowSpan
}

// Run implements pipeline.Source: it reads every event type from the
// checkpoint, then polls every poll_interval until ctx is done (or, with
// host.Once, returns once caught up).
func (s *Source) Run(ctx context.Context, host pipeline.SourceHost) error {
	r, err := s.load(host)
	if err != nil {
		return err
	}
	for {
		if err := s.round(ctx, r); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if host.Once || pipeline.Sleep(ctx, s.cfg.PollInterval) != nil {
			return nil
		}
	}
}

// load reads the checkpoint, or starts every type at start_at.
func (s *Source) load(host pipeline.SourceHost) (*run, error) {
	now, _ := s.clock.Now()
	r := &run{host: host, recent: map[string]*recent{}, lastEmit: s.now(), requests: s.client.requests.Load(),
		span: pipeline.WindowSpan{Tracer: s.tracer}}
	if host.Cursor == nil {
		r.cur = cursor{V: cursorVersion, Types: map[string]*typeCursor{}}
	} else {
		var err error
		if r.cur, err = decodeCursor(host.Cursor, now); err != nil {
			return nil, pipeline.Permanent(fmt.Errorf("checkpoint of %q: %w; move it away to start from start_at", s.name, err))
		}
	}
	start := s.cfg.StartAt.Resolve(now).UTC()
	var fresh, expired []string
	for _, t := range s.cfg.EventTypes {
		tc := r.cur.Types[t]
		if tc == nil {
			tc = &typeCursor{EndTime: start}
			r.cur.Types[t] = tc
			fresh = append(fresh, t)
		}
		r.recent[t] = newRecent(s.cfg.DedupIDs, tc.Recent)
		tc.Recent = nil // kept in r.recent until a window is emitted
		if r.start.IsZero() || tc.EndTime.Before(r.start) {
			r.start = tc.EndTime
		}
		if tc.EndTime.Before(now.Add(-retention - time.Hour)) {
			expired = append(expired, t)
		}
	}
	r.reached = r.start
	if host.Cursor == nil {
		s.log.Info("no checkpoint, starting from start_at", "start_at", start.Format(time.RFC3339))
	} else {
		s.log.Info("resuming from checkpoint", "from", r.start.Format(time.RFC3339), "new_types", fresh)
	}
	if len(expired) > 0 && !s.warnedExpired {
		s.warnedExpired = true
		s.log.Warn("reading from further back than the API keeps files (about 30 days): the files that ended before then are gone",
			"event_types", expired, "from", r.start.Format(time.RFC3339), "kept_since", now.Add(-retention).UTC().Format(time.RFC3339))
	}
	return r, nil
}

// listing is one event type's listing during a round: where the next
// page begins, and the files listed and not read yet.
type listing struct {
	*lister
	queue []File
}

// round lists the files of every type from its checkpoint and reads them
// all, in the order of their end_time across types (each type's files in
// the API's order), then emits the last window. When it fails, what it
// read before is handed on first: the source stops at the failure, not
// before it.
func (s *Source) round(ctx context.Context, r *run) error {
	began, _ := s.clock.Now()
	err := s.readAll(ctx, r)
	if err != nil {
		if ctx.Err() == nil && (len(r.pending) > 0 || r.reached.After(r.start)) {
			if eerr := s.emit(ctx, r, r.reached); eerr != nil {
				return errors.Join(err, eerr)
			}
		}
		r.span.End("", err) // requests that became no window
		return err
	}
	// Every file listed is read: the stream is read up to when the
	// listings began.
	return s.emit(ctx, r, later(r.reached, began))
}

// readAll reads the files listed of every type, in order of end_time.
func (s *Source) readAll(ctx context.Context, r *run) error {
	lists := make([]*listing, len(s.cfg.EventTypes))
	for i, t := range s.cfg.EventTypes {
		tc := r.cur.Types[t]
		// The files done at the checkpoint's end_time are listed again:
		// skip them, as the checkpoint stands when each page comes.
		done := func(f File) bool { return f.EndTime.Equal(tc.EndTime) && slices.Contains(tc.Done, f.ID) }
		lists[i] = &listing{lister: newLister(s.client, t, tc.EndTime, done)}
	}
	for {
		for _, l := range lists {
			for len(l.queue) == 0 && l.more {
				files, err := l.next(r.span.Context(ctx))
				if err != nil {
					return err
				}
				l.queue = append(l.queue, files...)
			}
		}
		var next *listing
		for _, l := range lists {
			if len(l.queue) > 0 && (next == nil || l.queue[0].EndTime.Before(next.queue[0].EndTime)) {
				next = l
			}
		}
		if next == nil {
			return nil
		}
		f := next.queue[0]
		next.queue = next.queue[1:]
		if err := s.readFile(ctx, r, f); err != nil {
			return err
		}
	}
}

// readFile downloads file f, checks it and hands its records on, from the
// line the checkpoint reached when f is the file it was in.
func (s *Source) readFile(ctx context.Context, r *run, f File) error {
	tc := r.cur.Types[f.Type]
	var skip int64
	if p := tc.File; p != nil && p.ID == f.ID {
		if p.SHA256 != "" && f.SHA256 != "" && p.SHA256 != f.SHA256 {
			return pipeline.Permanent(fmt.Errorf("file %s (%s) changed since the checkpoint was written inside it (SHA-256 %s, now %s): it cannot be resumed by line",
				f.ID, f.Type, p.SHA256, f.SHA256))
		}
		skip = p.Line
	}
	sp, lines, err := s.client.open(r.span.Context(ctx), f, &s.cfg)
	if errors.Is(err, ErrFileGone) {
		now, _ := s.clock.Now()
		if age := now.Sub(f.EndTime); age < retention-expiring {
			// Not a file at the end of its retention: skipping it would
			// lose its records, so the source fails and is run again, and
			// the checkpoint stays before the file until it can be read.
			return fmt.Errorf("file %s (%s) was listed but its download answers 404, though it ended only %s ago, within the API's %s retention: not skipped: %w",
				f.ID, f.Type, age.Round(time.Minute), retention, err)
		}
		// Listed a moment ago, gone now: its retention ended in between.
		// Waiting cannot bring it back.
		s.log.Warn("a listed file at the end of its retention is gone before it could be read; going on without it",
			"event_type", f.Type, "file", f.ID, "end_time", f.EndTime.Format(time.RFC3339), "err", err)
		return s.fileDone(ctx, r, f)
	}
	if err != nil {
		return err
	}
	defer sp.Close()
	observed := s.now().UTC()
	rec := r.recent[f.Type]
	// A type's files are read one at a time, in the listing's order, so
	// the file in progress is the type's one position inside a file.
	pos := &filePos{ID: f.ID, EndTime: f.EndTime, Line: skip, SHA256: f.SHA256}
	tc.File = pos
	var n int64
	for {
		line, err := lines.nextOf(f, n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		n++
		if n <= skip {
			continue
		}
		ev, err := s.rd.record(line, f, n, observed)
		if err != nil {
			return err
		}
		pos.Line = n
		if ev.ID == "" {
			continue // a blank line
		}
		r.fetched++
		if rec.seen(ev.ID) {
			continue // exported twice
		}
		rec.add(ev.ID)
		r.pending = append(r.pending, ev)
		if len(r.pending) >= s.cfg.MaxWindowEvents {
			if err := s.emit(ctx, r, r.reached); err != nil {
				return err
			}
		}
	}
	if n < skip {
		return pipeline.Permanent(fmt.Errorf("file %s (%s) has %d lines, but the checkpoint was written at line %d of it: the file changed", f.ID, f.Type, n, skip))
	}
	return s.fileDone(ctx, r, f)
}

// fileDone records that f was read whole, and hands the window on when it
// has gathered long enough.
func (s *Source) fileDone(ctx context.Context, r *run, f File) error {
	tc := r.cur.Types[f.Type]
	if p := tc.File; p != nil && (p.ID == f.ID || p.EndTime.Before(f.EndTime)) {
		tc.File = nil // done, or gone: a later file was read
	}
	if f.EndTime.After(tc.EndTime) {
		tc.EndTime, tc.Done = f.EndTime, nil
	}
	tc.Done = append(tc.Done, f.ID)
	r.reached = later(r.reached, f.EndTime)
	if len(r.pending) > 0 && s.now().Sub(r.lastEmit) >= flushEvery {
		return s.emit(ctx, r, r.reached)
	}
	return nil
}

// emit hands the window gathered so far to the engine, with the
// checkpoint that holds once it is delivered; end is how far the stream
// is read then.
func (s *Source) emit(ctx context.Context, r *run, end time.Time) error {
	snap := cursor{V: cursorVersion, Types: make(map[string]*typeCursor, len(r.cur.Types))}
	for t, tc := range r.cur.Types {
		c := *tc
		if rec := r.recent[t]; rec != nil {
			c.Recent = rec.list()
		}
		snap.Types[t] = &c
	}
	raw, err := json.Marshal(snap)
	if err != nil {
		return pipeline.Permanent(err)
	}
	goal, _ := s.clock.Now()
	reqs := s.client.requests.Load()
	w := pipeline.Window{Events: r.pending, Cursor: raw, Start: r.start, End: end, Goal: goal.UTC(),
		Fetched: r.fetched, Requests: int(reqs - r.requests), Span: r.span.Take()}
	if err := r.host.Emit(ctx, w); err != nil {
		if w.Span != nil {
			w.Span.End(err) // not the engine's: it did not take the window
		}
		return err
	}
	r.pending, r.fetched, r.requests = nil, 0, reqs
	r.start, r.lastEmit = end, s.now()
	return nil
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
