package chatgptsim_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/schema/chatgpt"
	"github.com/auditrelay/auditrelay/source/chatgpt/chatgptsim"
	"github.com/auditrelay/auditrelay/source/internal/sourcetest"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

var allTypes = append(slices.Clone(chatgptsim.KnownTypes), "FUTURE_LOG")

// TestRecordsReadLikeTheSchema reads every line of every type with
// schema/chatgpt: the envelope is complete, timestamps rise inside the
// file's span, and each type carries its sub-type and its kinds of actor.
func TestRecordsReadLikeTheSchema(t *testing.T) {
	sim := chatgptsim.New(chatgptsim.Options{Seed: 20, Now: sourcetest.NewClock(t0).Now, Types: allTypes, Interval: time.Hour, Lines: 40})
	ids := map[string]bool{}
	for _, typ := range allTypes {
		actors, subs := map[string]int{}, map[string]int{}
		records, withIP := 0, 0
		for _, f := range sim.Files(typ) {
			var prev time.Time
			for i, l := range lines(fileBytes(t, sim, f.ID)) {
				ev, err := chatgpt.Parse(l, "acme", time.Time{})
				if err != nil {
					t.Fatalf("%s line %d: %v\n%s", f.Name, i, err, l)
				}
				fields, _ := chatgpt.ReadObject(l)
				a := fields.Actor()
				if !uuidRE.MatchString(ev.ID) || ids[ev.ID] || ev.Type != typ || ev.ProjectID != sim.WorkspaceID() || fields.PrincipalType() != "CHATGPT_WORKSPACE" {
					t.Fatalf("%s line %d: id %q (seen: %v) type %q workspace %q", f.Name, i, ev.ID, ids[ev.ID], ev.Type, ev.ProjectID)
				}
				ids[ev.ID] = true
				if !ev.Time.After(f.EndTime.Add(-time.Hour)) || !ev.Time.Before(f.EndTime) || ev.Time.Before(prev) {
					t.Fatalf("%s line %d: time %s outside (%s, %s) or before the previous line", f.Name, i, ev.Time, f.EndTime.Add(-time.Hour), f.EndTime)
				}
				if ts := string(l[strings.Index(string(l), `"timestamp":"`)+13:][:27]); !strings.HasSuffix(ts, "Z") || ts[19] != '.' {
					t.Fatalf("%s line %d: timestamp %s is not RFC 3339 with microseconds and Z", f.Name, i, ts)
				}
				prev = ev.Time
				actors[a.Kind]++
				subs[fields.SubType()]++
				if ev.ActorID == "" && a.Kind != "SERVICE_PRINCIPAL" {
					t.Fatalf("%s line %d: no actor id: %+v", f.Name, i, a)
				}
				if a.Kind == chatgpt.ActorAgent && (a.DelegatorID == "" || !strings.Contains(a.DelegatorEmail, "@")) {
					t.Fatalf("%s line %d: an agent without its delegator: %+v", f.Name, i, a)
				}
				records++
				if c := fields.Client(); c.IP != "" {
					withIP++
					if c.Country == "" || c.Latitude == "" || c.UserAgent == "" {
						t.Fatalf("%s line %d: client %+v", f.Name, i, c)
					}
				}
			}
		}
		switch typ {
		case "AUDIT_LOG", "AUTH_LOG": // request_metadata always
			if withIP != records {
				t.Errorf("%s: %d of %d records say where they came from", typ, withIP, records)
			}
		case "CODEX_LOG": // optional request_metadata
			if withIP == 0 || withIP == records {
				t.Errorf("%s: %d of %d records say where they came from, want some", typ, withIP, records)
			}
		default:
			if withIP != 0 {
				t.Errorf("%s: %d records with request_metadata", typ, withIP)
			}
		}
		if typ != "FUTURE_LOG" && (subs[""] > 0 || len(subs) < 2) {
			t.Errorf("%s: sub-types %v: want one on every record, and several", typ, subs)
		}
		want := map[string][]string{
			"CONVERSATION_MESSAGE": {"ACCOUNT_USER"}, "AUDIT_LOG": {"ACCOUNT_USER", "API_KEY"}, "AUTH_LOG": {"ACCOUNT_USER"},
			"APP_LOG": {"ACCOUNT_USER"}, "APP_AUTH_LOG": {"ACCOUNT_USER"}, "CODEX_LOG": {"ACCOUNT_USER", "API_KEY"},
			"CODEX_SECURITY_LOG": {"ACCOUNT_USER"}, "CUSTOM_AGENTS_LOG": {"AGENT"}, "FUTURE_LOG": {"ACCOUNT_USER", "API_KEY", "SERVICE_PRINCIPAL"},
		}[typ]
		var got []string
		for k := range actors {
			got = append(got, k)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: actor kinds %v, want %v", typ, got, want)
		}
	}
}

// TestSecretsLieInContentPaths: every secret of Truth is in the records,
// and only inside the members schema/chatgpt names as content: with those
// removed, no record carries any secret.
func TestSecretsLieInContentPaths(t *testing.T) {
	sim := chatgptsim.New(chatgptsim.Options{Seed: 21, Now: sourcetest.NewClock(t0).Now, Interval: 3 * time.Hour, Lines: 30})
	tr := sim.Truth()
	var all, stripped bytes.Buffer
	for _, f := range sim.AllFiles() {
		for _, l := range lines(fileBytes(t, sim, f.ID)) {
			all.Write(l)
			var m map[string]any
			if err := json.Unmarshal(l, &m); err != nil {
				t.Fatal(err)
			}
			for _, p := range chatgpt.ContentPaths(f.EventType) {
				remove(m, p)
			}
			b, _ := json.Marshal(m)
			stripped.Write(b)
		}
	}
	if len(tr.Secrets) < 100 {
		t.Fatalf("%d secrets: the test needs many", len(tr.Secrets))
	}
	records, rest := all.String(), stripped.String()
	for _, s := range tr.Secrets {
		if !strings.Contains(records, s) {
			t.Errorf("secret %q is in no record", s)
		}
		if strings.Contains(rest, s) {
			t.Errorf("secret %q is outside the content paths", s)
		}
	}
}

func remove(m map[string]any, p chatgpt.Path) {
	for _, k := range p[:len(p)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
	delete(m, p[len(p)-1])
}

// TestTruth: the texts and secrets a redaction test greps for are what the
// brief of the simulator promises.
func TestTruth(t *testing.T) {
	sim := chatgptsim.New(chatgptsim.Options{Seed: 22, Now: sourcetest.NewClock(t0).Now, Interval: time.Hour, Lines: 30})
	tr := sim.Truth()
	if tr.Files != 8*len(sim.Files("AUDIT_LOG")) || len(tr.EventIDs) != tr.Lines || tr.Duplicates != 0 {
		t.Fatalf("files %d lines %d ids %d duplicates %d", tr.Files, tr.Lines, len(tr.EventIDs), tr.Duplicates)
	}
	var multiline, code, nonASCII bool
	for _, m := range tr.Messages {
		multiline = multiline || strings.Contains(m, "\n")
		code = code || strings.Contains(m, "```")
		nonASCII = nonASCII || strings.ContainsFunc(m, func(r rune) bool { return r > 0x2000 })
	}
	if len(tr.Messages) < 20 || !multiline || !code || !nonASCII {
		t.Errorf("%d messages; multi-line %v, code blocks %v, beyond Latin %v", len(tr.Messages), multiline, code, nonASCII)
	}
	kinds := map[string]int{}
	for _, s := range tr.Secrets {
		switch {
		case strings.HasPrefix(s, "sk-proj-"):
			kinds["openai key"]++
		case strings.HasPrefix(s, "AKIA"):
			kinds["aws key"]++
		case strings.HasPrefix(s, "ghp_"):
			kinds["github token"]++
		case strings.Contains(s, "@"):
			kinds["e-mail"]++
			if strings.Contains(s, ".example") && strings.HasPrefix(strings.SplitN(s, "@", 2)[1], "acme-") {
				t.Errorf("secret %s is an address of the directory", s)
			}
		case luhn(s):
			kinds["card"]++
		default:
			t.Errorf("secret %q is of no known kind", s)
		}
	}
	if len(kinds) != 5 {
		t.Errorf("secret kinds %v, want all five", kinds)
	}
}

// luhn reports whether s (digits, spaces and dashes) is 16 digits passing
// the Luhn check.
func luhn(s string) bool {
	d := strings.NewReplacer(" ", "", "-", "").Replace(s)
	if len(d) != 16 {
		return false
	}
	sum := 0
	for i := range d {
		v := int(d[len(d)-1-i] - '0')
		if v < 0 || v > 9 {
			return false
		}
		if i%2 == 1 {
			if v *= 2; v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

// TestDuplicatesAcrossFiles: with DuplicateFraction 1, every file after a
// type's first begins with copies of the previous file's last lines.
func TestDuplicatesAcrossFiles(t *testing.T) {
	sim := chatgptsim.New(chatgptsim.Options{Seed: 23, Now: sourcetest.NewClock(t0).Now, Interval: time.Hour, DuplicateFraction: 1, SharedEnd: 0.2})
	dups := 0
	for _, typ := range chatgptsim.KnownTypes {
		var prev [][]byte
		for i, f := range sim.Files(typ) {
			ls := lines(fileBytes(t, sim, f.ID))
			if i == 0 {
				prev = ls
				continue
			}
			if n := countLeading(ls, prev); n < 1 || n > 3 {
				t.Fatalf("%s file %d starts with %d lines of the previous file, want 1 to 3", typ, i, n)
			}
			dups += countLeading(ls, prev)
			prev = ls
		}
	}
	tr := sim.Truth()
	if tr.Duplicates != dups || len(tr.EventIDs) != tr.Lines-dups {
		t.Fatalf("Truth: %d duplicates, %d ids of %d lines; counted %d duplicates", tr.Duplicates, len(tr.EventIDs), tr.Lines, dups)
	}
}

// countLeading is how many of ls's first lines are the last lines of prev,
// in order.
func countLeading(ls, prev [][]byte) int {
	for n := min(3, len(ls), len(prev)); n > 0; n-- {
		ok := true
		for i := range n {
			ok = ok && bytes.Equal(ls[i], prev[len(prev)-n+i])
		}
		if ok {
			return n
		}
	}
	return 0
}

// TestDeterminism: the same seed gives the same listings and bytes, over
// HTTP; another seed gives others.
func TestDeterminism(t *testing.T) {
	fetch := func(seed int64) (string, string) {
		_, _, logs := start(t, chatgptsim.Options{Seed: seed, Types: allTypes, SharedEnd: 0.2, DuplicateFraction: 0.3})
		var listing, files strings.Builder
		for _, typ := range allTypes {
			_, _, b := get(t, http.DefaultClient, logs, url.Values{"event_type": {typ}, "limit": {"4"}})
			listing.Write(b)
			for _, f := range decodePage(t, b).Data {
				_, _, body := get(t, keyless, logs+"/"+f.ID, nil)
				files.Write(body)
			}
		}
		return listing.String(), files.String()
	}
	l1, f1 := fetch(7)
	l2, f2 := fetch(7)
	l3, f3 := fetch(8)
	if l1 != l2 || f1 != f2 {
		t.Fatal("the same seed gave other bytes")
	}
	if l1 == l3 || f1 == f3 {
		t.Fatal("another seed gave the same bytes")
	}
	a := chatgptsim.New(chatgptsim.Options{Seed: 7, Now: sourcetest.NewClock(t0).Now}).Truth()
	b := chatgptsim.New(chatgptsim.Options{Seed: 7, Now: sourcetest.NewClock(t0).Now}).Truth()
	if !slices.Equal(a.EventIDs, b.EventIDs) || !slices.Equal(a.Secrets, b.Secrets) || !slices.Equal(a.Messages, b.Messages) {
		t.Fatal("Truth differs for the same seed")
	}
}
