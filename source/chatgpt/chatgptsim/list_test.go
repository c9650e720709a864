package chatgptsim_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim/chatgptsimtest"
	"github.com/auditrelay/auditrelay/source/internal/sourcetest"
)

// TestListAfterIsInclusive: the file whose end_time equals after is listed
// again, first, as collectors observe against the real API.
func TestListAfterIsInclusive(t *testing.T) {
	_, _, logs := start(t, chatgptsim.Options{Seed: 1})
	first := list(t, logs, "AUDIT_LOG", "", 3)
	if len(first.Data) != 3 || !*first.HasMore || first.LastEndTime == nil || *first.LastEndTime != first.Data[2].EndTime {
		t.Fatalf("first page: %+v", first)
	}
	next := list(t, logs, "AUDIT_LOG", *first.LastEndTime, 3)
	if next.Data[0].ID != first.Data[2].ID {
		t.Fatalf("after=%s listed %s first, want the boundary file %s again", *first.LastEndTime, next.Data[0].ID, first.Data[2].ID)
	}
	if next.Data[1].EndTime <= first.Data[2].EndTime {
		t.Fatalf("the file after the boundary ends at %s, not after %s", next.Data[1].EndTime, first.Data[2].EndTime)
	}
	// One second later, the boundary file is behind us.
	at, _ := time.Parse(time.RFC3339, *first.LastEndTime)
	later := list(t, logs, "AUDIT_LOG", at.Add(time.Second).Format(time.RFC3339), 3)
	if later.Data[0].ID != next.Data[1].ID {
		t.Fatalf("after the boundary + 1s: first file %s, want %s", later.Data[0].ID, next.Data[1].ID)
	}
	// A zone other than Z names the same instant.
	plus := list(t, logs, "AUDIT_LOG", at.In(time.FixedZone("", 2*3600)).Format(time.RFC3339), 3)
	if plus.Data[0].ID != first.Data[2].ID {
		t.Fatalf("after with +02:00: first file %s, want %s", plus.Data[0].ID, first.Data[2].ID)
	}
}

// TestPagingCoversEveryFileOnce walks every type as a collector must (next
// after = last_end_time, drop ids already seen, stop when has_more is
// false) and finds exactly the visible files, slots with two files of one
// end_time included.
func TestPagingCoversEveryFileOnce(t *testing.T) {
	sim, _, logs := start(t, chatgptsim.Options{Seed: 2, SharedEnd: 0.3, Interval: 30 * time.Minute})
	for _, typ := range chatgptsim.KnownTypes {
		want := sim.Files(typ)
		shared := 0
		for i := 1; i < len(want); i++ {
			if want[i].EndTime.Equal(want[i-1].EndTime) {
				shared++
			}
		}
		if shared == 0 || len(want) < 40 {
			t.Fatalf("%s: %d files, %d sharing an end_time: the test needs both", typ, len(want), shared)
		}
		seen := map[string]bool{}
		var got []string
		after, pages := "", 0
		for {
			p := list(t, logs, typ, after, 7)
			pages++
			for _, f := range p.Data {
				if f.EventType != typ {
					t.Fatalf("%s page holds a %s file", typ, f.EventType)
				}
				if !seen[f.ID] {
					seen[f.ID] = true
					got = append(got, f.ID)
				}
			}
			if !*p.HasMore {
				break
			}
			after = *p.LastEndTime
			if pages > 100 {
				t.Fatalf("%s: no end after %d pages", typ, pages)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%s: paged %d files, %d visible", typ, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i].ID {
				t.Fatalf("%s: file %d is %s, want %s", typ, i, got[i], want[i].ID)
			}
		}
	}
}

func TestListDescribesEachFile(t *testing.T) {
	sim, _, logs := start(t, chatgptsim.Options{Seed: 3})
	p := list(t, logs, "CONVERSATION_MESSAGE", "", 5)
	want := sim.Files("CONVERSATION_MESSAGE")[:5]
	for i, f := range p.Data {
		w := want[i]
		if f.ID != w.ID || f.EndTime != w.EndTime.Format(time.RFC3339) || f.FileName != w.Name || f.FileSize != w.Size || f.FileSHA256 != w.SHA256 {
			t.Errorf("file %d listed as %+v, want %+v", i, f, w)
		}
		if !strings.HasPrefix(f.ID, "eclf_") || !strings.HasSuffix(f.EndTime, "Z") ||
			f.FileName != "CONVERSATION_MESSAGE_"+strings.TrimSuffix(f.EndTime, "Z")+"+00:00.jsonl" {
			t.Errorf("file %d: id %s, end_time %s, name %s", i, f.ID, f.EndTime, f.FileName)
		}
	}
	// Without the details only one mock shows.
	_, _, bare := start(t, chatgptsim.Options{Seed: 3, OmitFileDetails: true})
	code, _, b := get(t, http.DefaultClient, bare, url.Values{"event_type": {"AUDIT_LOG"}, "limit": {"1"}})
	if code != 200 || strings.Contains(string(b), "file_") || !strings.Contains(string(b), `"end_time"`) {
		t.Errorf("OmitFileDetails: %d %s", code, b)
	}
}

func TestListValidation(t *testing.T) {
	sim, base, logs := start(t, chatgptsim.Options{Seed: 4})
	for _, tc := range []struct {
		name string
		q    url.Values
		code int
		body string
	}{
		{"no event_type", url.Values{}, 400, "event_type"},
		{"bad event_type", url.Values{"event_type": {"audit log"}}, 400, "event_type"},
		{"after without zone", url.Values{"event_type": {"AUDIT_LOG"}, "after": {"2026-07-09T10:00:00"}}, 400, "after"},
		{"after not a time", url.Values{"event_type": {"AUDIT_LOG"}, "after": {"yesterday"}}, 400, "after"},
		{"after a Unix time", url.Values{"event_type": {"AUDIT_LOG"}, "after": {"1783591200"}}, 400, "after"},
		{"before without zone", url.Values{"event_type": {"AUDIT_LOG"}, "before": {"2026-07-09"}}, 400, "before"},
		{"limit 0", url.Values{"event_type": {"AUDIT_LOG"}, "limit": {"0"}}, 422, "limit"},
		{"limit 101", url.Values{"event_type": {"AUDIT_LOG"}, "limit": {"101"}}, 422, "limit"},
		{"limit not a number", url.Values{"event_type": {"AUDIT_LOG"}, "limit": {"ten"}}, 422, "limit"},
		{"limit 100", url.Values{"event_type": {"AUDIT_LOG"}, "limit": {"100"}}, 200, `"has_more":true`},
		{"limit 1", url.Values{"event_type": {"AUDIT_LOG"}, "limit": {"1"}}, 200, `"has_more":true`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, h, b := get(t, http.DefaultClient, logs, tc.q)
			if code != tc.code || !strings.Contains(string(b), tc.body) || h.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d (%s), want %d with %q: %s", code, h.Get("Content-Type"), tc.code, tc.body, b)
			}
		})
	}
	// A type without files (unknown here) is an empty page, not an error.
	p := list(t, logs, "CHATGPT_PLUGIN_SPREADSHEET", "", 0)
	if len(p.Data) != 0 || *p.HasMore || p.LastEndTime != nil {
		t.Errorf("unknown type: %+v, want an empty page with last_end_time null", p)
	}
	// Past the newest file: empty too.
	p = list(t, logs, "AUDIT_LOG", t0.Add(time.Hour).Format(time.RFC3339), 0)
	if len(p.Data) != 0 || *p.HasMore || p.LastEndTime != nil {
		t.Errorf("after now: %+v", p)
	}
	// The default page is 50 files; before bounds end_time from above.
	all := sim.Files("AUDIT_LOG")
	if p := list(t, logs, "AUDIT_LOG", "", 0); len(p.Data) != 50 {
		t.Errorf("default limit: %d files", len(p.Data))
	}
	q := url.Values{"event_type": {"AUDIT_LOG"}, "before": {all[3].EndTime.Format(time.RFC3339)}}
	code, _, b := get(t, http.DefaultClient, logs, q)
	if p := decodePage(t, b); code != 200 || len(p.Data) != 3 || *p.HasMore || p.Data[2].ID != all[2].ID {
		t.Errorf("before the 4th file's end_time: %d %s", code, b)
	}
	// The organization path lists the same files.
	orgLogs := base + "/organizations/" + sim.OrgID() + "/logs"
	code, _, b = get(t, http.DefaultClient, orgLogs, url.Values{"event_type": {"AUDIT_LOG"}, "limit": {"2"}})
	if p := decodePage(t, b); code != 200 || p.Data[0].ID != all[0].ID {
		t.Errorf("organization path: %d %s", code, b)
	}
	st := sim.Stats()
	if st.Requests[chatgptsim.EndpointList][400] != 6 || st.Requests[chatgptsim.EndpointList][422] != 3 {
		t.Errorf("stats by status: %v", st.Requests)
	}
}

func TestAuthorization(t *testing.T) {
	sim, base, logs := start(t, chatgptsim.Options{Seed: 5, UnscopedKeys: []string{"sk-admin-no-scope"}})
	q := url.Values{"event_type": {"AUTH_LOG"}}
	for _, tc := range []struct {
		name, u, auth string
		code          int
		body          string
	}{
		{"no key", logs, "", 401, "missing_api_key"},
		{"not bearer", logs, "Basic " + key, 401, "missing_api_key"},
		{"wrong key", logs, "Bearer sk-other", 401, "invalid_api_key"},
		{"key without the scope", logs, "Bearer sk-admin-no-scope", 403, "chatgpt.enterprise.compliance_export.read"},
		{"right key", logs, "Bearer " + key, 200, `"data"`},
		{"unknown workspace", base + "/workspaces/00000000-0000-4000-8000-000000000000/logs", "Bearer " + key, 404, "not_found"},
		{"workspace id on the organization path", base + "/organizations/" + sim.WorkspaceID() + "/logs", "Bearer " + key, 404, "not_found"},
		{"organization", base + "/organizations/" + sim.OrgID() + "/logs", "Bearer " + key, 200, `"data"`},
		{"no such route", base + "/workspaces/" + sim.WorkspaceID() + "/files", "Bearer " + key, 404, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, b := get(t, http.DefaultClient, tc.u, q, tc.auth)
			if code != tc.code || !strings.Contains(string(b), tc.body) {
				t.Fatalf("status %d, want %d with %q: %s", code, tc.code, tc.body, b)
			}
		})
	}
	st := sim.Stats().Requests
	if st[chatgptsim.EndpointList][401] != 3 || st[chatgptsim.EndpointList][403] != 1 || st[chatgptsim.EndpointOther][404] != 1 {
		t.Errorf("stats: %v", st)
	}
	// Without Options.APIKey any bearer key will do, but one is needed.
	anyKey, anyBase := chatgptsimtest.Start(t, chatgptsim.Options{Seed: 5})
	open := anyBase + "/workspaces/" + anyKey.WorkspaceID() + "/logs"
	if code, _, _ := get(t, http.DefaultClient, open, q, "Bearer anything"); code != 200 {
		t.Errorf("any key: %d", code)
	}
	if code, _, _ := get(t, http.DefaultClient, open, q, ""); code != 401 {
		t.Errorf("no key: %d", code)
	}
}

// TestFilesAppearAsTheClockAdvances: a tail poll from the last end_time
// sees the boundary file again, then new files once the clock passes their
// end_time.
func TestFilesAppearAsTheClockAdvances(t *testing.T) {
	c := sourcetest.NewClock(t0)
	sim, _, logs := start(t, chatgptsim.Options{Seed: 6, Now: c.Now, Interval: 5 * time.Minute})
	files := sim.Files("APP_LOG")
	last := files[len(files)-1]
	tail := list(t, logs, "APP_LOG", last.EndTime.Format(time.RFC3339), 100)
	if len(tail.Data) != 1 || tail.Data[0].ID != last.ID || *tail.HasMore {
		t.Fatalf("tail at now: %+v, want just the boundary file", tail)
	}
	c.Add(last.EndTime.Add(5*time.Minute).Sub(c.Now()) - time.Second)
	if tail := list(t, logs, "APP_LOG", last.EndTime.Format(time.RFC3339), 100); len(tail.Data) != 1 {
		t.Fatalf("a second before the next end_time: %d files", len(tail.Data))
	}
	c.Add(time.Second)
	tail = list(t, logs, "APP_LOG", last.EndTime.Format(time.RFC3339), 100)
	if len(tail.Data) != 2 || tail.Data[1].EndTime != last.EndTime.Add(5*time.Minute).Format(time.RFC3339) {
		t.Fatalf("at the next end_time: %+v", tail)
	}
	if n := len(sim.Files("APP_LOG")); n != len(files)+1 {
		t.Fatalf("Files: %d, want %d", n, len(files)+1)
	}
	// An hour later, twelve more.
	c.Add(time.Hour)
	if n := len(sim.Files("APP_LOG")); n != len(files)+13 {
		t.Fatalf("an hour later: %d files, want %d", n, len(files)+13)
	}
}
