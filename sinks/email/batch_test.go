package email

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/checkpoint"
)

// outbox replaces the SMTP session: it keeps every message it is given
// and answers what answer says for the n-th (1-based).
type outbox struct {
	mu     sync.Mutex
	sent   []parsedOut
	answer func(n int) error
	tries  int
}

// parsedOut is a mail the outbox took: the ids of its events, in order.
type parsedOut struct {
	ids     []string
	subject string
}

func (o *outbox) send(t *testing.T) func(context.Context, *gomail.Msg) error {
	return func(_ context.Context, m *gomail.Msg) error {
		var buf bytes.Buffer
		if _, err := m.WriteTo(&buf); err != nil {
			return err
		}
		o.mu.Lock()
		o.tries++
		n := o.tries
		o.mu.Unlock()
		if o.answer != nil {
			if err := o.answer(n); err != nil {
				return err
			}
		}
		p := parseMail(t, buf.Bytes())
		var ids []string
		for line := range strings.SplitSeq(strings.TrimSpace(p.jsonl), "\n") {
			_, rest, _ := strings.Cut(line, `"id":"`)
			id, _, _ := strings.Cut(rest, `"`)
			ids = append(ids, id)
		}
		o.mu.Lock()
		o.sent = append(o.sent, parsedOut{ids: ids, subject: p.subject})
		o.mu.Unlock()
		return nil
	}
}

func (o *outbox) mails() []parsedOut {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.sent)
}

// fakeSink is a sink whose mails go to an outbox.
func fakeSink(t *testing.T, mut func(*Config)) (*Sink, *outbox) {
	t.Helper()
	c := defaultConfig()
	c.Host, c.From, c.To = "smtp.example.com", "alerts@example.com", []string{"sec@example.com"}
	if mut != nil {
		mut(c)
	}
	s := newSink(t, c, nil)
	o := &outbox{}
	s.send = o.send(t)
	return s, o
}

func idsOf(bs ...pipeline.Batch) []string {
	var ids []string
	for _, b := range bs {
		for _, ev := range b.Events {
			ids = append(ids, ev.ID)
		}
	}
	return ids
}

// commitAsync commits source's window in a goroutine of the bubble.
func commitAsync(s *Sink, source string) <-chan error {
	done := make(chan error, 1)
	go func() { done <- s.CommitWindow(context.Background(), source, nil) }()
	return done
}

func TestBatching(t *testing.T) {
	ctx := context.Background()
	t.Run("batches of one window make one mail", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s, o := fakeSink(t, nil)
			b1, b2, b3 := batch("acme", 0, 4), batch("acme", 4, 3), batch("acme", 7, 5)
			start := time.Now()
			if err := commitWin(s, b1, b2, b3); err != nil {
				t.Fatal(err)
			}
			if waited := time.Since(start); waited != 0 {
				t.Fatalf("a lone window waited %v for a mail nothing else could join", waited)
			}
			if m := o.mails(); len(m) != 1 || !slices.Equal(m[0].ids, idsOf(b1, b2, b3)) {
				t.Fatalf("mails %v, want one of %v", m, idsOf(b1, b2, b3))
			}
			if got := o.mails()[0].subject; got != "[auditrelay] 12 events: api_key.created and more" {
				t.Fatalf("subject %q", got)
			}
		})
	})
	t.Run("max_events_per_mail cuts mails; the commit waits for all", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s, o := fakeSink(t, func(c *Config) { c.MaxEventsPerMail = 3 })
			b := batch("acme", 0, 7)
			if err := commitWin(s, b); err != nil {
				t.Fatal(err)
			}
			m := o.mails()
			if len(m) != 3 || len(m[0].ids) != 3 || len(m[1].ids) != 3 || len(m[2].ids) != 1 {
				t.Fatalf("mails %v, want 3+3+1 events", m)
			}
		})
	})
	t.Run("two sources' windows share a mail", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s, o := fakeSink(t, nil)
			start := time.Now()
			a, b := batch("acme", 0, 2), batch("globex", 0, 3)
			if err := s.Consume(ctx, a); err != nil {
				t.Fatal(err)
			}
			if err := s.Consume(ctx, b); err != nil {
				t.Fatal(err)
			}
			doneA := commitAsync(s, "acme")
			synctest.Wait()
			if len(o.mails()) != 0 || len(doneA) != 0 {
				t.Fatal("the mail left while globex's window could still add to it")
			}
			doneB := commitAsync(s, "globex")
			if err := errors.Join(<-doneA, <-doneB); err != nil {
				t.Fatal(err)
			}
			if waited := time.Since(start); waited != 0 {
				t.Fatalf("the mail left after %v: it should leave once both windows commit", waited)
			}
			if m := o.mails(); len(m) != 1 || !slices.Equal(m[0].ids, idsOf(a, b)) {
				t.Fatalf("mails %v, want one of both windows", m)
			}
		})
	})
	t.Run("batch_delay bounds the wait for another window", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s, o := fakeSink(t, func(c *Config) { c.BatchDelay = 10 * time.Second })
			start := time.Now()
			if err := s.Consume(ctx, batch("acme", 0, 2)); err != nil {
				t.Fatal(err)
			}
			if err := s.Consume(ctx, batch("globex", 0, 1)); err != nil {
				t.Fatal(err)
			}
			if err := s.CommitWindow(ctx, "acme", nil); err != nil {
				t.Fatal(err)
			}
			if waited := time.Since(start); waited != 10*time.Second {
				t.Fatalf("the commit waited %v, want batch_delay", waited)
			}
			// globex goes on: its next events make a mail of their own,
			// and its commit waits for both.
			if err := s.Consume(ctx, batch("globex", 1, 1)); err != nil {
				t.Fatal(err)
			}
			if err := s.CommitWindow(ctx, "globex", nil); err != nil {
				t.Fatal(err)
			}
			m := o.mails()
			if len(m) != 2 || !slices.Equal(m[0].ids, []string{"acme-0", "acme-1", "globex-0"}) || !slices.Equal(m[1].ids, []string{"globex-1"}) {
				t.Fatalf("mails %v", m)
			}
		})
	})
	t.Run("batch_delay 0: the first window to commit sends the mail", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s, o := fakeSink(t, func(c *Config) { c.BatchDelay = 0 })
			start := time.Now()
			_ = s.Consume(ctx, batch("acme", 0, 1))
			_ = s.Consume(ctx, batch("globex", 0, 1))
			if err := s.CommitWindow(ctx, "acme", nil); err != nil {
				t.Fatal(err)
			}
			if err := s.CommitWindow(ctx, "globex", nil); err != nil {
				t.Fatal(err)
			}
			if m := o.mails(); len(m) != 1 || len(m[0].ids) != 2 || time.Since(start) != 0 {
				t.Fatalf("mails %v after %v, want one of both at once", m, time.Since(start))
			}
		})
	})
	t.Run("an aborted window leaves the mail being filled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s, o := fakeSink(t, nil)
			if err := s.Consume(ctx, batch("acme", 0, 2)); err != nil {
				t.Fatal(err)
			}
			if err := s.Consume(ctx, batch("globex", 0, 2)); err != nil {
				t.Fatal(err)
			}
			doneA := commitAsync(s, "acme")
			synctest.Wait()
			if err := s.AbortWindow(ctx, "globex"); err != nil {
				t.Fatal(err)
			}
			if err := <-doneA; err != nil {
				t.Fatal(err)
			}
			if m := o.mails(); len(m) != 1 || !slices.Equal(m[0].ids, []string{"acme-0", "acme-1"}) {
				t.Fatalf("mails %v, want acme's events alone", m)
			}
		})
	})
	t.Run("a failed mail fails every window in it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s, o := fakeSink(t, nil)
			o.answer = func(int) error { return errors.New("451 4.3.0 try again later") }
			_ = s.Consume(ctx, batch("acme", 0, 1))
			_ = s.Consume(ctx, batch("globex", 0, 1))
			doneA, doneB := commitAsync(s, "acme"), commitAsync(s, "globex")
			for _, err := range []error{<-doneA, <-doneB} {
				if err == nil || pipeline.IsPermanent(err) || !strings.Contains(err.Error(), "451") {
					t.Fatalf("err %v, want retryable 451", err)
				}
			}
		})
	})
	t.Run("an empty window commits at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s, o := fakeSink(t, nil)
			if err := s.Consume(ctx, pipeline.Batch{Source: "acme"}); err != nil {
				t.Fatal(err)
			}
			if err := s.CommitWindow(ctx, "acme", nil); err != nil || len(o.mails()) != 0 {
				t.Fatalf("err %v, %d mails", err, len(o.mails()))
			}
		})
	})
}

// windowSource emits its windows once.
type windowSource struct{ windows []pipeline.Window }

func (s *windowSource) Start(context.Context) error    { return nil }
func (s *windowSource) Shutdown(context.Context) error { return nil }
func (s *windowSource) Run(ctx context.Context, h pipeline.SourceHost) error {
	for _, w := range s.windows {
		if err := h.Emit(ctx, w); err != nil {
			return err
		}
	}
	return nil
}

// deadLetters collects what the engine hands the dead-letter sink.
type deadLetters struct {
	mu  sync.Mutex
	raw []string
}

func (d *deadLetters) Consume(_ context.Context, b pipeline.Batch) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, ev := range b.Events {
		d.raw = append(d.raw, string(ev.Raw))
	}
	return nil
}

// TestThroughTheEngine runs windows through the real engine into the sink:
// a 4xx is retried by the engine after its first back-off (one mail in
// the end, the commit's cursor saved after it); a 5xx sends the mail's
// events to the dead letter at once, with no retry, and the pipeline goes
// on.
func TestThroughTheEngine(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(n int) error
		mails  int
		dead   int
		retry  bool // the engine waits its first back-off
	}{
		{"4xx then 250", func(n int) error {
			if n == 1 {
				return errors.New("smtp: 451 4.3.0 mailbox busy")
			}
			return nil
		}, 1, 0, true},
		{"5xx", func(n int) error {
			if n == 1 {
				return &refusal{errors.New("554 5.6.0 message refused")}
			}
			return nil
		}, 0, 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, o := fakeSink(t, nil)
				o.answer = tc.answer
				w := batch("acme", 0, 3)
				store := checkpoint.NewMemory()
				dl := &deadLetters{}
				p := pipeline.Assemble(pipeline.Parts{
					Sources:    map[string]pipeline.Source{"acme": &windowSource{[]pipeline.Window{{Events: w.Events, Cursor: []byte(`"c1"`)}}}},
					Sinks:      map[string]pipeline.Consumer{"mail": s},
					DeadLetter: dl,
					Store:      store,
				})
				start := time.Now()
				if err := p.Run(context.Background(), pipeline.RunOptions{Once: true}); err != nil {
					t.Fatal(err)
				}
				if m := o.mails(); len(m) != tc.mails || (tc.mails == 1 && !slices.Equal(m[0].ids, idsOf(w))) {
					t.Fatalf("mails %v, want %d with every event", m, tc.mails)
				}
				if len(dl.raw) != tc.dead {
					t.Fatalf("%d dead letters, want %d", len(dl.raw), tc.dead)
				}
				for _, d := range dl.raw {
					if !strings.Contains(d, `"sink":"mail"`) || !strings.Contains(d, "554") {
						t.Fatalf("dead letter %s", d)
					}
				}
				if c, _ := store.Load(context.Background(), "acme"); string(c) != `"c1"` {
					t.Fatalf("cursor %q not saved", c)
				}
				took := time.Since(start)
				if tc.retry && (took < 400*time.Millisecond || took > 2*time.Second) {
					t.Fatalf("the engine's retry took %v, want its first back-off (500ms ±20%%)", took)
				}
				if !tc.retry && took != 0 {
					t.Fatalf("took %v on the bubble's clock, want no retry", took)
				}
			})
		})
	}
}
