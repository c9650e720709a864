package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Sink is the email sink. Consume, CommitWindow and AbortWindow are safe
// for concurrent use by several sources.
type Sink struct {
	name string
	cfg  Config
	log  *slog.Logger
	tmpl *templates
	tls  *tls.Config // nil with security none
	now  func() time.Time
	// send delivers one message; smtpSend unless a test replaces it.
	send func(ctx context.Context, m *gomail.Msg) error

	// ctx bounds the mails in flight: a mail may hold the events of
	// several windows, so no one window's context may cancel it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	open    *outMail           // the mail being filled, nil when none
	last    *outMail           // the mail sealed last: the next one leaves after it
	windows map[string]*window // per source, since its last commit or abort
}

// window is where one source's window is with the sink.
type window struct {
	mails      []*outMail // every mail holding one of its events
	committing bool       // CommitWindow waits: no more events will join
}

// outMail is one mail: filled while open, then sent once.
type outMail struct {
	items   []item
	sources map[string]int // events per source
	timer   *time.Timer    // batch_delay, while open
	done    chan struct{}  // closed once the server answered
	err     error          // the answer, once done: nil is 250 after DATA
}

var (
	_ pipeline.Sink      = (*Sink)(nil)
	_ pipeline.Committer = (*Sink)(nil)
)

// New returns a sink for cfg (already validated); it loads the TLS
// configuration but connects to nothing until a mail leaves.
func New(set pipeline.Settings, cfg Config) (*Sink, error) {
	tmpl, err := parseTemplates(cfg.Subject, cfg.Body)
	if err != nil {
		return nil, fmt.Errorf("email %q: %w", set.Name, err)
	}
	s := &Sink{name: set.Name, cfg: cfg, log: set.Log(), tmpl: tmpl, now: time.Now,
		windows: map[string]*window{}}
	if cfg.Security != "none" {
		tc, err := cfg.TLS.Load(s.log)
		if err != nil {
			return nil, fmt.Errorf("email %q: %w", set.Name, err)
		}
		if tc == nil {
			tc = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		if tc.ServerName == "" {
			tc.ServerName = cfg.Host
		}
		s.tls = tc
	}
	s.send = s.smtpSend
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Start implements pipeline.Component. It does not try the server: an
// unreachable server is retried like any failed mail.
func (s *Sink) Start(context.Context) error { return nil }

// Shutdown implements pipeline.Component: it drops the mail being filled
// (its windows did not commit, so they are delivered again at the next
// start) and waits for the mails in flight until ctx is done, then
// abandons them. Safe without Start and more than once.
func (s *Sink) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if m := s.open; m != nil {
		if m.timer != nil {
			m.timer.Stop()
		}
		s.open = nil
		m.err = fmt.Errorf("email %q: shut down before the mail was sent", s.name)
		close(m.done)
	}
	s.mu.Unlock()
	idle := make(chan struct{})
	go func() { s.wg.Wait(); close(idle) }()
	defer s.cancel()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("email %q: mails still in flight at shutdown: %w", s.name, ctx.Err())
	}
}

// Consume copies b's events into the mail being filled and returns; a
// mail that fills up leaves at once. It does not block on the server:
// CommitWindow waits for the answers. It does not modify b.
func (s *Sink) Consume(_ context.Context, b pipeline.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range b.Events {
		s.add(b.Source, &b.Events[i])
	}
	return nil
}

// add puts a copy of ev into the open mail. s.mu is held.
func (s *Sink) add(source string, ev *pipeline.Event) {
	m := s.open
	if m == nil {
		m = &outMail{sources: map[string]int{}, done: make(chan struct{})}
		if s.cfg.BatchDelay > 0 {
			m.timer = time.AfterFunc(s.cfg.BatchDelay, func() {
				s.mu.Lock()
				defer s.mu.Unlock()
				if s.open == m {
					s.seal()
				}
			})
		}
		s.open = m
	}
	m.items = append(m.items, item{source: source, ev: pipeline.Event{ID: ev.ID, Type: ev.Type, Time: ev.Time,
		ObservedAt: ev.ObservedAt, Source: ev.Source, ActorID: ev.ActorID, ActorEmail: ev.ActorEmail,
		ProjectID: ev.ProjectID, Schema: ev.Schema, Raw: slices.Clone(ev.Raw)}})
	m.sources[source]++
	w := s.windows[source]
	if w == nil {
		w = &window{}
		s.windows[source] = w
	}
	if !slices.Contains(w.mails, m) {
		w.mails = append(w.mails, m)
	}
	if len(m.items) >= s.cfg.MaxEventsPerMail {
		s.seal()
	}
}

// ready reports whether every window with events in m is committing: no
// more events can join m, waiting would only hold those windows back.
// s.mu is held.
func (s *Sink) ready(m *outMail) bool {
	for src, n := range m.sources {
		if w := s.windows[src]; n > 0 && (w == nil || !w.committing) {
			return false
		}
	}
	return len(m.items) > 0
}

// seal sends the open mail in the background, once the mail sealed before
// it was answered: mails leave one at a time, in order. s.mu is held.
func (s *Sink) seal() {
	m, prev := s.open, s.last
	s.open, s.last = nil, m
	if m.timer != nil {
		m.timer.Stop()
	}
	s.wg.Go(func() {
		if prev != nil {
			<-prev.done
		}
		err := s.deliver(m)
		s.mu.Lock()
		m.err = err
		close(m.done)
		if s.last == m {
			s.last = nil
		}
		s.mu.Unlock()
	})
}

// deliver builds and sends m, and says how it went.
func (s *Sink) deliver(m *outMail) error {
	t0 := time.Now()
	msg, err := s.message(m.items)
	if err != nil {
		return pipeline.Permanent(fmt.Errorf("building the mail: %w", err))
	}
	err = s.send(s.ctx, msg)
	if err != nil {
		s.log.Warn("mail not delivered", "server", s.cfg.addr(), "events", len(m.items), "err", err)
		return err
	}
	s.log.Debug("mail delivered", "server", s.cfg.addr(), "events", len(m.items), "took", time.Since(t0).Round(time.Millisecond))
	return nil
}

// CommitWindow implements pipeline.Committer: it returns nil once every
// mail holding an event of source's window was answered 250 after DATA.
// The mail being filled leaves as soon as every window in it is
// committing, or after batch_delay. A mail answered 4xx, or whose
// connection broke, fails the window with a retryable error. The events of
// the window in a mail refused with 5xx come back in a
// *pipeline.RejectedError, for the dead-letter sink: the server will never
// take them. It blocks until then or until ctx is done.
func (s *Sink) CommitWindow(ctx context.Context, source string, _ []byte) error {
	s.mu.Lock()
	w := s.windows[source]
	if w == nil {
		s.mu.Unlock()
		return nil
	}
	w.committing = true
	if m := s.open; m != nil && m.sources[source] > 0 && (s.cfg.BatchDelay == 0 || s.ready(m)) {
		s.seal()
	}
	mails := slices.Clone(w.mails)
	s.mu.Unlock()

	for _, m := range mails {
		select {
		case <-m.done:
		case <-ctx.Done():
			return fmt.Errorf("email %q: waiting for the server's answer: %w", s.name, ctx.Err())
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	var rejected []pipeline.Rejection
	for _, m := range mails {
		var ref *refusal
		switch {
		case m.err == nil:
		case errors.As(m.err, &ref):
			for _, it := range m.items {
				if it.source == source {
					rejected = append(rejected, pipeline.Rejection{Event: it.ev, Reason: ref.Error()})
				}
			}
		default:
			errs = append(errs, fmt.Errorf("email %q: %w", s.name, m.err))
		}
	}
	if s.windows[source] == w {
		delete(s.windows, source)
	}
	if len(rejected) > 0 {
		errs = append(errs, &pipeline.RejectedError{Sink: s.name, Rejected: rejected})
	}
	return errors.Join(errs...)
}

// AbortWindow implements pipeline.Committer: the source's events leave the
// mail being filled (a mail already sent cannot be called back: its events
// may reach the recipients twice). It does not block.
func (s *Sink) AbortWindow(_ context.Context, source string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.windows, source)
	m := s.open
	if m == nil || m.sources[source] == 0 {
		return nil
	}
	m.items = slices.DeleteFunc(m.items, func(it item) bool { return it.source == source })
	delete(m.sources, source)
	switch {
	case len(m.items) == 0:
		if m.timer != nil {
			m.timer.Stop()
		}
		s.open = nil
	case s.ready(m):
		s.seal()
	}
	return nil
}
