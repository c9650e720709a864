package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	aschema "github.com/auditrelay/auditrelay/schema/anthropic"
	cgschema "github.com/auditrelay/auditrelay/schema/chatgpt"
)

// statRow is one group of stats.
type statRow struct {
	Key       string   `json:"key"`
	Count     int      `json:"count"`
	Share     float64  `json:"share"`
	Succeeded int      `json:"succeeded,omitempty"`
	Failed    int      `json:"failed,omitempty"`
	Success   *float64 `json:"success_rate,omitempty"`
}

func (m *Main) cmdStats(ctx context.Context, args []string) int {
	fs := m.flags("stats", "[--api audit|requests|chatgpt|anthropic] --since 24h --by type|actor|project|organization|model|action|day [--detect] [--top N] [-o table|json|csv]")
	q := m.addQueryFlags(fs, "24h", "table", "json", "csv")
	by := fs.String("by", "type", "group by type, actor, project (--api chatgpt: the workspace), organization (--api anthropic, the same as project there), "+
		"model (--api requests, chatgpt), action (--api chatgpt: the action or event type within a type) or day")
	top := fs.Int("top", 20, "show the N largest groups (0: all)")
	detectPack := fs.Bool("detect", false, "run the default detection pack over the range and count the alerts of each rule (groups by rule instead of --by)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	switch *by {
	case "type", "actor", "project", "organization", "model", "action", "day":
	default:
		fmt.Fprintf(m.Stderr, "auditrelay stats: --by must be type, actor, project, organization, model, action or day, got %q\n", *by)
		return exitUsage
	}
	if err := q.checkOutput(); err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay stats: %v\n", err)
		return exitUsage
	}
	api, code, ok := m.open(q)
	if !ok {
		return code
	}
	if *by == "model" && (api.kind == apiAudit || api.kind == apiAnthropic) {
		fmt.Fprintln(m.Stderr, "auditrelay stats: --by model needs the request-log API (--api requests) or the compliance logs (--api chatgpt); audit logs and activities carry no model")
		return exitUsage
	}
	if *by == "organization" && api.kind != apiAnthropic {
		fmt.Fprintln(m.Stderr, "auditrelay stats: --by organization is for the activity feed (--api anthropic); elsewhere it is --by project")
		return exitUsage
	}
	if *by == "action" && api.kind != apiChatGPT {
		fmt.Fprintln(m.Stderr, "auditrelay stats: --by action is for the compliance logs (--api chatgpt); the audit log's type is its action")
		return exitUsage
	}
	qq, err := q.resolve(time.Now())
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay stats: %v\n", err)
		return exitUsage
	}
	groups := map[string]*statRow{}
	total, withSuccess := 0, 0
	var alerts *alertCounter
	if *detectPack {
		if alerts, err = newAlertCounter(); err != nil {
			fmt.Fprintf(m.Stderr, "auditrelay stats: %v\n", err)
			return exitFailure
		}
	}
	// stats prints nothing until it has read the whole range, which can
	// take minutes: a terminal sees how far it got.
	prog := newWalkProgress(m.Stderr, "stats", drawsProgress(m.Stderr), qq.since, qq.until, 0, 0, time.Time{})
	if api.kind == apiChatGPT {
		prog.overFiles(true) // the files are read oldest first
	}
	var read, pages int64
	complete := false
	err = api.units(ctx, qq, "", func(u unit) (bool, error) {
		read += int64(u.read)
		if !u.none {
			pages++
		}
		complete = u.done
		for i := range u.events {
			ev := &u.events[i]
			if alerts != nil {
				alerts.add(ev)
				continue
			}
			key, success := statOf(*by, ev)
			g := groups[key]
			if g == nil {
				g = &statRow{Key: key}
				groups[key] = g
			}
			g.Count++
			total++
			if success != nil {
				withSuccess++
				if *success {
					g.Succeeded++
				} else {
					g.Failed++
				}
			}
		}
		prog.update(read, pages, u.at)
		return true, nil
	})
	prog.finish(complete)
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay stats: %v\n", err)
		return exitFailure
	}
	if alerts != nil {
		perRule, err := alerts.count(ctx)
		if err != nil {
			fmt.Fprintf(m.Stderr, "auditrelay stats: %v\n", err)
			return exitFailure
		}
		*by = "rule"
		for rule, n := range perRule {
			groups[rule] = &statRow{Key: rule, Count: n}
			total += n
		}
	}
	rows := make([]statRow, 0, len(groups))
	for _, g := range groups {
		g.Share = float64(g.Count) / float64(max(total, 1))
		if n := g.Succeeded + g.Failed; n > 0 {
			r := float64(g.Succeeded) / float64(n)
			g.Success = &r
		}
		rows = append(rows, *g)
	}
	slices.SortFunc(rows, func(a, b statRow) int {
		if *by == "day" {
			return -cmpString(a.Key, b.Key)
		}
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return cmpString(a.Key, b.Key)
	})
	if *top > 0 && len(rows) > *top {
		rows = rows[:*top]
	}
	switch q.output {
	case "json":
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"by": *by, "since": qq.since.UTC(), "until": qq.until.UTC(), "total": total, "groups": rows})
	case "csv":
		w := csv.NewWriter(m.Stdout)
		_ = w.Write([]string{*by, "count", "share", "succeeded", "failed", "success_rate"})
		for _, r := range rows {
			rate := ""
			if r.Success != nil {
				rate = strconv.FormatFloat(*r.Success, 'f', 4, 64)
			}
			_ = w.Write([]string{r.Key, strconv.Itoa(r.Count), strconv.FormatFloat(r.Share, 'f', 4, 64), strconv.Itoa(r.Succeeded), strconv.Itoa(r.Failed), rate})
		}
		w.Flush()
	default:
		tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "%s\tCOUNT\tSHARE\t", upper(*by))
		if withSuccess > 0 {
			fmt.Fprint(tw, "SUCCESS\t")
		}
		fmt.Fprintln(tw)
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%d\t%.1f%%\t", r.Key, r.Count, 100*r.Share)
			if withSuccess > 0 {
				if r.Success != nil {
					fmt.Fprintf(tw, "%.1f%%\t", 100**r.Success)
				} else {
					fmt.Fprint(tw, "-\t")
				}
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
		what := "events"
		if alerts != nil {
			what = "alerts of the default detection pack"
		}
		fmt.Fprintf(m.Stdout, "%d %s from %s to %s\n", total, what, qq.since.UTC().Format(time.RFC3339), qq.until.UTC().Format(time.RFC3339))
	}
	return exitOK
}

// statOf returns the group of ev and whether it succeeded (nil when its
// API does not say): success in a request log, action_result in a
// compliance log.
func statOf(by string, ev *pipeline.Event) (key string, success *bool) {
	if ev.Schema == aschema.Schema {
		return statKey(by, ev, false, nil), activityStat(ev)
	}
	if ev.Schema == cgschema.Schema {
		var cs complianceStat
		_ = json.Unmarshal(ev.Raw, &cs) // the source parsed it already
		if ok, has := cs.succeeded(); has {
			success = &ok
		}
		hasModel := cs.Message != nil && cs.Message.Author.Model != ""
		return statKey(by, ev, hasModel, func() string { return cs.Message.Author.Model }), success
	}
	var ix struct {
		Success    *bool `json:"success"`
		APIRequest *struct {
			Model string `json:"model"`
		} `json:"api_request"`
	}
	_ = json.Unmarshal(ev.Raw, &ix) // the source parsed it already
	return statKey(by, ev, ix.APIRequest != nil, func() string { return ix.APIRequest.Model }), ix.Success
}

func statKey(by string, ev *pipeline.Event, hasModel bool, model func() string) string {
	var k string
	switch by {
	case "type":
		k = ev.Type
	case "actor":
		k = eventActor(ev)
	case "project", "organization":
		k = ev.ProjectID
	case "model":
		if hasModel {
			k = model()
		}
	case "action":
		k, _ = complianceRow(ev)
		if k != "" {
			k = ev.Type + " " + k
		}
	case "day":
		k = ev.Time.UTC().Format(time.DateOnly)
	}
	if k == "" {
		return "(none)"
	}
	return k
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}
