package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	aschema "github.com/auditrelay/auditrelay/schema/anthropic"
	cgschema "github.com/auditrelay/auditrelay/schema/chatgpt"
	"github.com/auditrelay/auditrelay/source/chatgpt"
)

// The query commands on ChatGPT's compliance logs (--api chatgpt). The API
// lists files per event type, oldest end_time first, and a record is a
// line of a file: there is no time filter but the files' end_time, and no
// get-by-id. So a query lists the files of its types whose records may
// fall in [since, until): those that end at or after since (a file that
// ends before holds nothing later), up to the first end_time at or after
// until (its span may begin before until); it reads them through the
// source's own client (checked downloads, content replaced unless
// --keep-content) and keeps the records whose timestamp is in the range.
//
// list and get read the files newest first; export and stats oldest first,
// the order the API lists them and the source delivers them, each file the
// unit an export resumes at.

// chatgptAPI is the compliance-log API opened for a query.
type chatgptAPI struct {
	client *chatgpt.Client
	base   string
	// types are the event types a query without --type lists: the -c
	// source's event_types, or every type auditrelay knows.
	types []string
	// warn reports a file or a line passed over.
	warn func(string)
}

// openChatGPT opens the compliance-log API from the -c file's source (src,
// nil without one), $CHATGPT_COMPLIANCE_KEY and the flags.
func (m *Main) openChatGPT(q *queryFlags, src *chatgpt.Config) (*logAPI, int, bool) {
	var cfg chatgpt.Config
	if src != nil {
		cfg = *src
	} else {
		cfg = *chatgpt.DefaultConfig()
		// A person waits at a terminal: shorter waits than a daemon's.
		cfg.RetryWaitMin, cfg.RetryWaitMax, cfg.MaxServerWait = 200*time.Millisecond, 10*time.Second, time.Minute
	}
	if v, ok := lookupEnviron(m.Environ, "CHATGPT_COMPLIANCE_KEY"); ok && v != "" {
		cfg.APIKey = pipeline.Secret(v)
	}
	if cfg.APIKey == "" {
		fmt.Fprintf(m.Stderr, "auditrelay: no compliance API key: set CHATGPT_COMPLIANCE_KEY or pass -c FILE with a %s source that has api_key\n", chatgpt.Type)
		return nil, exitUsage, false
	}
	if q.baseURL != "" {
		cfg.BaseURL = q.baseURL
	}
	if id := q.workspace; id != "" {
		cfg.WorkspaceID, cfg.OrganizationID = id, ""
		if strings.HasPrefix(id, "org-") {
			cfg.WorkspaceID, cfg.OrganizationID = "", id
		}
	}
	if cfg.WorkspaceID == "" && cfg.OrganizationID == "" {
		fmt.Fprintln(m.Stderr, "auditrelay: --api chatgpt needs --workspace ID (a workspace's UUID, or an organization's org-...), or -c FILE whose source names one")
		return nil, exitUsage, false
	}
	// Only the flag shows what people wrote: a terminal, a pipe and a
	// spreadsheet are not where a deployment's archive is.
	cfg.KeepContent = q.keepContent
	// A line that is not a record is passed over with a warning: a query
	// reads, and should not stop at one line it cannot show.
	cfg.OnInvalidEvent = chatgpt.InvalidDeadLetter
	c, err := chatgpt.NewClient(pipeline.Settings{Name: "cli"}, cfg)
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay: --api chatgpt: %v\n", err)
		return nil, exitUsage, false
	}
	a := &chatgptAPI{client: c, base: cfg.BaseURL, types: cfg.EventTypes,
		warn: func(s string) { fmt.Fprintf(m.Stderr, "warning: %s\n", s) }}
	return &logAPI{kind: apiChatGPT, base: cfg.BaseURL, cg: a}, 0, true
}

// typesOf returns the event types to list for the --type patterns: every
// type of the API's list that one matches, and a name without wildcards
// as given (a type auditrelay does not know is read too).
func (a *chatgptAPI) typesOf(patterns []string) ([]string, error) {
	if len(patterns) == 0 {
		return a.types, nil
	}
	var out []string
	for _, t := range a.types {
		if matchAny(patterns, t) {
			out = append(out, t)
		}
	}
	for _, p := range patterns {
		if !strings.ContainsAny(p, "*?[") && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--type %s matches none of the event types %s", strings.Join(patterns, ", "), strings.Join(a.types, ", "))
	}
	return out, nil
}

// failed adds the base URL to an error, as logAPI.failed does.
func (a *chatgptAPI) failed(err error) error {
	return (&logAPI{base: a.base}).failed(err)
}

// typeFiles returns the files of type typ q may find records in that end
// at or after from (zero: since), oldest first (see the top of this
// file), ending when the caller stops.
func (a *chatgptAPI) typeFiles(ctx context.Context, typ string, q query, from time.Time) iter.Seq2[chatgpt.File, error] {
	if since := q.since.Truncate(time.Second); from.Before(since) {
		from = since
	}
	return func(yield func(chatgpt.File, error) bool) {
		var cut time.Time // the first end_time at or after until
		for f, err := range a.client.ListFiles(ctx, typ, from) {
			if err != nil {
				yield(f, a.failed(err))
				return
			}
			if !f.EndTime.Before(q.until) {
				if cut.IsZero() {
					cut = f.EndTime
				}
				if f.EndTime.After(cut) {
					return
				}
			}
			if !yield(f, nil) {
				return
			}
		}
	}
}

// files lists the files of every type q may find records in, in the
// order of their end_time (a type's files in the API's order, the types
// in the order given for the same end_time); listed is called after each.
func (a *chatgptAPI) files(ctx context.Context, types []string, q query, listed func(n int)) ([]chatgpt.File, error) {
	var all []chatgpt.File
	for _, typ := range types {
		for f, err := range a.typeFiles(ctx, typ, q, time.Time{}) {
			if err != nil {
				return nil, err
			}
			all = append(all, f)
			listed(len(all))
		}
	}
	slices.SortStableFunc(all, func(x, y chatgpt.File) int { return x.EndTime.Compare(y.EndTime) })
	return all, nil
}

// read downloads file f and calls each with its records that q matches,
// in the file's order; it returns how many records the file holds. A file
// gone since it was listed, and a line that is not a record, are passed
// over with a warning.
func (a *chatgptAPI) read(ctx context.Context, f chatgpt.File, q query, each func(ev *pipeline.Event) error) (int, error) {
	r, err := a.client.Open(ctx, f)
	if errors.Is(err, chatgpt.ErrFileGone) {
		a.warn(fmt.Sprintf("file %s (%s, end_time %s) was listed but is gone (its retention ended?); passed over", f.ID, f.Type, f.EndTime.Format(time.RFC3339)))
		return 0, nil
	}
	if err != nil {
		return 0, a.failed(err)
	}
	defer r.Close()
	n := 0
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
		if ev.Invalid != "" {
			a.warn(ev.Invalid + "; it is not a record: passed over")
			continue
		}
		if q.match(&ev) {
			if err := each(&ev); err != nil {
				return n, err
			}
		}
	}
}

// fileMark is where an export over files stands: the end_time of the
// files done last and their ids, as a cursor string.
type fileMark struct {
	end  time.Time
	done []string // type/id of the files done at end
}

func parseFileMark(s string) (fileMark, error) {
	if s == "" {
		return fileMark{}, nil
	}
	at, ids, _ := strings.Cut(s, " ")
	end, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return fileMark{}, fmt.Errorf("file cursor %q: %w", s, err)
	}
	return fileMark{end: end, done: strings.Split(ids, ",")}, nil
}

func (fm fileMark) String() string {
	return fm.end.UTC().Format(time.RFC3339Nano) + " " + strings.Join(fm.done, ",")
}

// isDone reports whether file f was read before the mark.
func (fm fileMark) isDone(f chatgpt.File) bool {
	return !fm.end.IsZero() && (f.EndTime.Before(fm.end) || f.EndTime.Equal(fm.end) && slices.Contains(fm.done, f.Type+"/"+f.ID))
}

// add marks f read.
func (fm *fileMark) add(f chatgpt.File) {
	if !f.EndTime.Equal(fm.end) {
		fm.end, fm.done = f.EndTime, nil
	}
	fm.done = append(fm.done, f.Type+"/"+f.ID)
}

// walkFiles reads the files of q oldest first, the types' listings merged
// by end_time as the source reads them, from after (a fileMark, "" from
// the start), calling each once per file with its matching records and the
// mark after it; the last call has done set (a walk with no file makes one
// call, empty). Each type's listing is paged as the walk reaches it.
func (a *chatgptAPI) walkFiles(ctx context.Context, q query, after string, each func(unit) (bool, error)) error {
	mark, err := parseFileMark(after)
	if err != nil {
		return err
	}
	types, err := a.typesOf(q.types)
	if err != nil {
		return err
	}
	type head struct {
		next func() (chatgpt.File, error, bool)
		stop func()
		f    chatgpt.File
		ok   bool
	}
	heads := make([]*head, len(types))
	for i, t := range types {
		// A resumed walk lists from the files done last.
		next, stop := iter.Pull2(a.typeFiles(ctx, t, q, mark.end))
		defer stop()
		heads[i] = &head{next: next, stop: stop}
	}
	advance := func(h *head) error {
		for {
			f, err, ok := h.next()
			if err != nil {
				return err
			}
			if h.f, h.ok = f, ok; !ok || !mark.isDone(f) {
				return nil
			}
		}
	}
	for _, h := range heads {
		if err := advance(h); err != nil {
			return err
		}
	}
	for {
		var cur *head
		for _, h := range heads {
			if h.ok && (cur == nil || h.f.EndTime.Before(cur.f.EndTime)) {
				cur = h
			}
		}
		if cur == nil {
			_, err := each(unit{next: after, done: true, none: true})
			return err
		}
		f := cur.f
		var evs []pipeline.Event
		n, err := a.read(ctx, f, q, func(ev *pipeline.Event) error {
			evs = append(evs, *ev)
			return nil
		})
		if err != nil {
			return err
		}
		mark.add(f)
		if err := advance(cur); err != nil {
			return err
		}
		last := true
		for _, h := range heads {
			last = last && !h.ok
		}
		more, err := each(unit{events: evs, read: n, next: mark.String(), at: f.EndTime, done: last})
		if err != nil || !more || last {
			return err
		}
	}
}

// complianceRow reads what the table shows of a compliance-log record: the
// action that tells records of its type apart, and who did it.
func complianceRow(ev *pipeline.Event) (action, actor string) {
	f, err := cgschema.ReadObject(ev.Raw)
	if err != nil {
		return "", firstNonEmpty(ev.ActorEmail, ev.ActorID)
	}
	return f.SubType(), complianceActor(f.Actor())
}

// complianceActor names who did a record as a person reads it: a user's
// e-mail, an API key's redacted id, an agent's name.
func complianceActor(a cgschema.Actor) string {
	switch a.Kind {
	case cgschema.ActorUser:
		return firstNonEmpty(a.Email, a.UserID)
	case cgschema.ActorAPIKey:
		return a.KeyID
	case cgschema.ActorAgent:
		return firstNonEmpty(a.AgentName, a.AgentID)
	}
	return ""
}

// eventActor is the actor a table or a stats group shows.
func eventActor(ev *pipeline.Event) string {
	if ev.Schema == cgschema.Schema {
		if _, actor := complianceRow(ev); actor != "" {
			return actor
		}
	}
	if ev.Schema == aschema.Schema {
		if actor := activityRow(ev); actor != "" {
			return actor
		}
	}
	return firstNonEmpty(ev.ActorEmail, ev.ActorID)
}

// listChatGPT is list over compliance logs: newest first. The files are
// read from the newest end_time back; a record is printed once no file
// left can hold a later one (a file's records are not after its
// end_time), so that the order is the records' and only the files needed
// for the newest --limit are downloaded.
func (m *Main) listChatGPT(ctx context.Context, api *logAPI, qq query, out *eventWriter, limit int) (n int, more bool, err error) {
	a := api.cg
	types, err := a.typesOf(qq.types)
	if err != nil {
		return 0, false, err
	}
	files, err := a.files(ctx, types, qq, func(int) {})
	if err != nil {
		return 0, false, err
	}
	var pending []pipeline.Event // read, not printed, newest first
	// flush prints the pending records later than bound (all when zero).
	flush := func(bound time.Time) (bool, error) {
		slices.SortStableFunc(pending, func(x, y pipeline.Event) int { return y.Time.Compare(x.Time) })
		i := 0
		for ; i < len(pending) && (bound.IsZero() || pending[i].Time.After(bound)); i++ {
			if limit > 0 && n == limit {
				break
			}
			if err := out.write(pending[i]); err != nil {
				return false, err
			}
			n++
		}
		pending = pending[i:]
		return limit > 0 && n == limit, nil
	}
	for i := len(files) - 1; i >= 0; i-- {
		f := files[i]
		if full, err := flush(f.EndTime); err != nil || full {
			return n, true, err
		}
		var recs []pipeline.Event
		if _, err := a.read(ctx, f, qq, func(ev *pipeline.Event) error {
			recs = append(recs, *ev)
			return nil
		}); err != nil {
			return n, false, err
		}
		slices.Reverse(recs) // a file is oldest first
		pending = append(pending, recs...)
	}
	_, err = flush(time.Time{})
	return n, len(pending) > 0, err
}

// getChatGPT finds the record whose event_id is id in the files that end
// within [since, now), newest first, showing its progress on a terminal.
// It prints why on stderr and returns nil, nil when the id is not there.
func (m *Main) getChatGPT(ctx context.Context, api *logAPI, id string, types []string, since string) ([]byte, error) {
	a := api.cg
	now := time.Now()
	s, err := parseWhen("--since", since, now)
	if err != nil {
		return nil, err
	}
	q := query{since: s, until: now, types: types}
	listTypes, err := a.typesOf(types)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(m.Stderr, "note: the compliance-log API has no get-by-id; reading every file of %s that ends since %s (--since %s; --type narrows it)\n",
		strings.Join(listTypes, ", "), s.UTC().Format(time.RFC3339), since)
	prog := newWalkProgress(m.Stderr, "get", drawsProgress(m.Stderr), q.since, q.until, 0, 0, time.Time{}).overFiles(false)
	files, err := a.files(ctx, listTypes, q, prog.listing)
	if err != nil {
		return nil, err
	}
	var found []byte
	var read, done int64
	stop := errors.New("found")
	for i := len(files) - 1; i >= 0 && found == nil; i-- {
		n, err := a.read(ctx, files[i], q, func(ev *pipeline.Event) error {
			if ev.ID == id {
				found = ev.Raw
				return stop
			}
			return nil
		})
		read += int64(n)
		done++
		if err != nil && err != stop {
			prog.finish(false)
			return nil, err
		}
		prog.update(read, done, files[i].EndTime)
	}
	prog.finish(found == nil)
	if found == nil {
		fmt.Fprintf(m.Stderr, "auditrelay get: no compliance-log record with event_id %q in the files that end since %s (%d records in %d files searched)\n",
			id, q.since.UTC().Format(time.RFC3339), read, done)
	}
	return found, nil
}

// complianceStat is what stats reads of a compliance-log record besides
// its routing fields.
type complianceStat struct {
	ActionResult *string `json:"action_result"`
	Message      *struct {
		Author struct {
			Model string `json:"model"`
		} `json:"author"`
	} `json:"message"`
}

// succeeded reports whether a record's action_result says it succeeded,
// and whether it has one.
func (c complianceStat) succeeded() (ok, has bool) {
	if c.ActionResult == nil || *c.ActionResult == "" {
		return false, false
	}
	return *c.ActionResult == "SUCCESS", true
}
