package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/openai"
)

func (m *Main) cmdGet(ctx context.Context, args []string) int {
	fs := m.flags("get", "ID [--api audit|requests|chatgpt|anthropic] [--since 30d] [--type T] [-o json|jsonl]")
	q := m.addQueryFlags(fs, "-", "json", "jsonl")
	fs.Lookup("o").Usage = "output `format`: json (indented) or jsonl (one line, as the API sent it)"
	since := fs.String("since", "30d", "audit API: how far back to search when the id carries no date; --api chatgpt: how far back the files searched end (the search reads every file since then, slow); "+
		"--api anthropic: how far back to search should the activities next to the id not lead to it: "+whenForms)
	fs.Var(&q.types, "type", "--api chatgpt: search only the files of this event `type` (CONVERSATION_MESSAGE, CODEX_*); repeatable")
	// The id may stand before, between or after the flags.
	var ids []string
	for {
		if code, ok := parse(fs, args); !ok {
			return code
		}
		if fs.NArg() == 0 {
			break
		}
		ids = append(ids, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(ids) != 1 {
		fs.Usage()
		return exitUsage
	}
	id := ids[0]
	if err := q.checkOutput(); err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay get: %v\n", err)
		return exitUsage
	}
	if _, err := parseWhen("--since", *since, time.Now()); err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay get: %v\n", err)
		return exitUsage
	}
	api, code, ok := m.open(q)
	if !ok {
		return code
	}
	if len(q.types) > 0 && api.kind != apiChatGPT {
		fmt.Fprintln(m.Stderr, "auditrelay get: --type goes with --api chatgpt")
		return exitUsage
	}
	for _, t := range q.types {
		if err := pipeline.ValidPattern(t); err != nil {
			fmt.Fprintf(m.Stderr, "auditrelay get: --type %q: %v\n", t, err)
			return exitUsage
		}
	}
	var raw []byte
	var err error
	switch {
	case api.kind == apiChatGPT:
		raw, err = m.getChatGPT(ctx, api, id, q.types, *since)
		if err == nil && raw == nil {
			return exitFailure
		}
	case api.kind == apiAnthropic:
		raw, err = m.getAnthropic(ctx, api, id, *since)
		if err == nil && raw == nil {
			return exitFailure
		}
	case api.kind == apiRequests:
		raw, err = api.client.OrganizationLog(ctx, id)
		var apiErr *openai.APIError
		if errors.As(err, &apiErr) && apiErr.Status == 404 {
			fmt.Fprintf(m.Stderr, "auditrelay get: no organization log with id %q (the API answered 404)\n", id)
			return exitFailure
		}
		if err != nil {
			err = api.failed(err)
		}
	default:
		raw, err = m.findAuditLog(ctx, api, id, *since)
		if err == nil && raw == nil {
			return exitFailure
		}
	}
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay get: %v\n", err)
		return exitFailure
	}
	if q.output == "jsonl" {
		fmt.Fprintf(m.Stdout, "%s\n", bytes.TrimSpace(raw))
		return exitOK
	}
	var out bytes.Buffer
	if err := json.Indent(&out, bytes.TrimSpace(raw), "", "  "); err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay get: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(m.Stdout, "%s\n", out.Bytes())
	return exitOK
}

// auditIDDay returns the day an audit log id names in its _yyyymmdd
// suffix (audit_log-..._20250301).
func auditIDDay(id string) (time.Time, bool) {
	if len(id) < 9 || id[len(id)-9] != '_' {
		return time.Time{}, false
	}
	d, err := time.Parse("20060102", id[len(id)-8:])
	return d, err == nil
}

// findAuditLog searches the audit-log API, which has no get-by-id, for id:
// within the day its suffix names (a day either side, for time zones), or
// else within --since. It prints why on stderr and returns nil, nil when
// the id was not found.
func (m *Main) findAuditLog(ctx context.Context, api *logAPI, id, since string) ([]byte, error) {
	now := time.Now()
	var q query
	if day, ok := auditIDDay(id); ok {
		q = query{since: day.Add(-24 * time.Hour), until: day.Add(48 * time.Hour)}
		if q.until.After(now) {
			q.until = now
		}
		fmt.Fprintf(m.Stderr, "note: the audit-log API has no get-by-id; searching %s..%s, the days around the date in the id\n",
			q.since.Format(time.DateOnly), q.until.Format(time.DateOnly))
	} else {
		s, err := parseWhen("--since", since, now)
		if err != nil {
			return nil, err
		}
		q = query{since: s, until: now}
		fmt.Fprintf(m.Stderr, "note: the audit-log API has no get-by-id and %q carries no _yyyymmdd date; searching the last %s (--since)\n", id, since)
	}
	if !q.since.Before(q.until) {
		fmt.Fprintf(m.Stderr, "auditrelay get: no audit log with id %q: its date is in the future\n", id)
		return nil, nil
	}
	var found []byte
	pages, read := 0, 0
	err := api.walk(ctx, q, "", func(p *page, _ string) (bool, error) {
		pages++
		read += p.read
		for _, ev := range p.events {
			if ev.ID == id {
				found = ev.Raw
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		fmt.Fprintf(m.Stderr, "auditrelay get: no audit log with id %q between %s and %s (%d events in %d pages searched)\n",
			id, q.since.UTC().Format(time.RFC3339), q.until.UTC().Format(time.RFC3339), read, pages)
	}
	return found, nil
}
