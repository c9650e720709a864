package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// listPage is the test API's envelope.
type listPage struct {
	Data    []map[string]any `json:"data"`
	HasMore bool             `json:"has_more"`
	Next    string           `json:"next"`
}

func decodeTestPage(body []byte) (Page, error) {
	var lp listPage
	if err := json.Unmarshal(body, &lp); err != nil {
		return Page{}, err
	}
	p := Page{HasMore: lp.HasMore, Next: lp.Next}
	for _, d := range lp.Data {
		p.Events = append(p.Events, pipeline.Event{ID: fmt.Sprint(d["id"]), Time: time.Unix(int64(d["t"].(float64)), 0)})
	}
	return p, nil
}

func events(from, n int) []map[string]any {
	var out []map[string]any
	for i := range n {
		out = append(out, map[string]any{"id": fmt.Sprint("e", from+i), "t": 1000 + from + i})
	}
	return out
}

// TestWalkGuards: every answer that cannot be a real page is asked again,
// then reported, and never handed on; a sound list is walked whole.
func TestWalkGuards(t *testing.T) {
	tests := []struct {
		name  string
		page  func(after string) (listPage, int) // the answer and its padding
		check func(*pipeline.Event) error
		want  string // "" walks the list
	}{
		{"a sound list", func(after string) (listPage, int) {
			if after == "" {
				return listPage{Data: events(0, 3), HasMore: true, Next: "e2"}, 0
			}
			return listPage{Data: events(3, 2)}, 0
		}, nil, ""},
		{"more events than asked for", func(string) (listPage, int) {
			return listPage{Data: events(0, 4)}, 0
		}, nil, "the page holds 4 events, 3 were asked for"},
		{"has_more with no events", func(string) (listPage, int) {
			return listPage{HasMore: true, Next: "x"}, 0
		}, nil, "has_more is true but the page holds no events"},
		{"has_more with no cursor", func(string) (listPage, int) {
			return listPage{Data: events(0, 1), HasMore: true}, 0
		}, nil, "has_more is true but the page gives no cursor"},
		{"a cursor given twice", func(string) (listPage, int) {
			return listPage{Data: events(0, 3), HasMore: true, Next: "e2"}, 0
		}, nil, "the API repeated a page"},
		{"an event outside the window", func(string) (listPage, int) {
			return listPage{Data: events(0, 2)}, 0
		}, func(ev *pipeline.Event) error {
			if ev.Time.Unix() > 1000 {
				return errors.New("event outside the requested window")
			}
			return nil
		}, "outside the requested window"},
		{"a body over the bound", func(string) (listPage, int) {
			return listPage{Data: events(0, 1)}, 8 << 10
		}, nil, "larger than the 4096 bytes a page may take"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				lp, pad := tt.page(r.URL.Query().Get("after"))
				b, _ := json.Marshal(lp)
				if pad > 0 {
					b = append(b[:len(b)-1], fmt.Sprintf(`,"pad":"%s"}`, strings.Repeat("x", pad))...)
				}
				w.Header().Set("Content-Type", "application/json")
				w.Write(b)
			}))
			defer srv.Close()
			c := NewClient(Config{BaseURL: srv.URL, MaxBody: 4096,
				Retry: Retry{MaxRetries: 2, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond, Timeout: 5 * time.Second}})
			l := Lister{Client: c, Path: "/list", CursorParam: "after", LimitParam: "limit", Limit: 3, Decode: decodeTestPage}
			var got []string
			_, err := l.Walk(context.Background(), url.Values{}, tt.check, func(p Page) bool {
				for _, ev := range p.Events {
					got = append(got, ev.ID)
				}
				return true
			})
			if tt.want == "" {
				if err != nil || strings.Join(got, ",") != "e0,e1,e2,e3,e4" {
					t.Fatalf("err = %v, events %v", err, got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || pipeline.IsPermanent(err) {
				t.Fatalf("err = %v; want a retryable error with %q", err, tt.want)
			}
			// The guard of a repeated cursor needs the page before it,
			// which was sound.
			if n := len(got); n > 0 && !(tt.name == "a cursor given twice" && n == 3) {
				t.Fatalf("events handed on from a broken page: %v", got)
			}
			if n := calls.Load(); n > 4 {
				t.Fatalf("%d requests; want the page asked 3 times (and the one before it)", n)
			}
		})
	}
}

// TestClockNeverRunsAhead: the API's clock is the Date of its answers:
// never ahead of the API, whatever the local clock says.
func TestClockNeverRunsAhead(t *testing.T) {
	api := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	local := api.Add(10 * time.Minute) // the machine runs 10 minutes ahead
	c := NewClock(func() time.Time { return local })
	if _, ok := c.Now(); ok {
		t.Fatal("a clock without an answer claims to know the API's time")
	}
	c.Observe(api.Add(700 * time.Millisecond).Format(http.TimeFormat)) // Date rounds down
	c.Observe("garbage")
	got, ok := c.Now()
	if !ok || got.After(api.Add(700*time.Millisecond)) || api.Sub(got) > time.Second {
		t.Fatalf("Now = %v, %v; want the API's %v (at most a second behind, never ahead)", got, ok, api)
	}
}
