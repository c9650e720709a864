package email

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/checkpoint"
)

// TestEngineWithServer runs a window through the real engine into the sink
// and a real SMTP server: 451 then 250 is retried by the engine into one
// mail; 550 sends the events to the dead letter. The server runs outside
// the bubble, so the engine's back-off passes on the bubble's clock while
// the SMTP exchanges take real time.
func TestEngineWithServer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		code  int
		mails int
		dead  int
		retry bool // the engine waits its first back-off
	}{
		{"451 then 250", 451, 1, 0, true},
		{"550", 550, 0, 4, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, serverOpts{})
			ts.refuse = func(cmd string, attempt int) *smtp.SMTPError {
				if cmd == "RCPT" && attempt == 1 {
					return &smtp.SMTPError{Code: tc.code, EnhancedCode: smtp.EnhancedCode{tc.code / 100, 1, 1}, Message: fmt.Sprint("test says ", tc.code)}
				}
				return nil
			}
			synctest.Test(t, func(t *testing.T) {
				s := newSink(t, baseConfig(ts), nil)
				w := batch("acme", 0, 4)
				store, dl := checkpoint.NewMemory(), &deadLetters{}
				p := pipeline.Assemble(pipeline.Parts{
					Sources:    map[string]pipeline.Source{"acme": &windowSource{[]pipeline.Window{{Events: w.Events, Cursor: []byte(`"c1"`)}}}},
					Sinks:      map[string]pipeline.Consumer{"mail": s},
					DeadLetter: dl, Store: store,
				})
				start := time.Now()
				if err := p.Run(context.Background(), pipeline.RunOptions{Once: true}); err != nil {
					t.Fatal(err)
				}
				took := time.Since(start)
				if tc.retry && (took < 400*time.Millisecond || took > 2*time.Second) {
					t.Fatalf("took %v on the bubble's clock, want the engine's first back-off", took)
				}
				if !tc.retry && took != 0 {
					t.Fatalf("took %v on the bubble's clock, want no retry", took)
				}
				if got := ts.received(); len(got) != tc.mails {
					t.Fatalf("%d mails, want %d", len(got), tc.mails)
				}
				if len(dl.raw) != tc.dead || (tc.dead > 0 && !strings.Contains(dl.raw[0], "550")) {
					t.Fatalf("dead letters %v, want %d", dl.raw, tc.dead)
				}
				if c, _ := store.Load(context.Background(), "acme"); string(c) != `"c1"` {
					t.Fatalf("cursor %q", c)
				}
			})
		})
	}
}
