package chatgpt

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/httpapi"
)

// scope is what a Compliance API key must hold to read the logs.
const scope = "chatgpt.enterprise.compliance_export.read"

// File is one exported file as the listing describes it: its id, its event
// type, and the end_time of the span its records cover.
type File struct {
	ID, Type string
	EndTime  time.Time
	// Size is file_size, -1 when the listing does not give it; SHA256 is
	// file_sha256 in lower-case hex, "" when not given. A download is
	// checked against each that is given.
	Size   int64
	SHA256 string
}

// filePage is one listing of the files of a type.
type filePage struct {
	Files   []File
	HasMore bool
	// LastEndTime is the next listing's `after`; zero when the API sent
	// null (an empty page).
	LastEndTime time.Time
}

// client reads the Compliance API through two retrying clients of package
// httpapi: one for the API, which sends the key, and one for the host of
// the signed download URLs, which has no key to send. Neither follows a
// redirect. Safe for concurrent use.
type client struct {
	api, dl  *httpapi.Client
	path     string // the principal's logs, below the base URL
	pageSize int
	log      *slog.Logger
	// requests counts the attempts of both clients, for Window.Requests.
	requests atomic.Int64
}

// newClient returns the client of cfg; lim paces the key's requests and
// clock learns the API's time. rt, when set, carries every request instead
// of the transports of cfg's TLS section (a test without a network).
func newClient(set pipeline.Settings, cfg *Config, lim *httpapi.Limiter, clock *httpapi.Clock, rt http.RoundTripper) (*client, error) {
	apiRT, dlRT := rt, rt
	if rt == nil {
		tr, err := cfg.TLS.HTTPTransport(set.Log())
		if err != nil {
			return nil, err
		}
		apiRT, dlRT = tr, tr
		if tr.TLSClientConfig != nil && tr.TLSClientConfig.ServerName != "" {
			// tls.server_name names the API's certificate, not the
			// download host's.
			dtr := tr.Clone()
			dtr.TLSClientConfig.ServerName = ""
			dlRT = dtr
		}
	}
	c := &client{path: cfg.principalPath(), pageSize: cfg.PageSize, log: set.Log()}
	common := httpapi.Config{
		Retry: cfg.Retry, Name: set.Name, Logger: set.Log(), Telemetry: set.Tel(), Tracer: set.Trace(),
		Transport: countingTransport{next: apiRT, n: &c.requests},
	}
	api := common
	api.BaseURL = cfg.BaseURL
	api.Header = http.Header{"Authorization": {"Bearer " + cfg.APIKey.Value()}}
	// A file's entry is about 250 bytes; 2 KiB each leaves room for ids
	// and names to grow, and bounds what a broken answer can make us hold.
	api.MaxBody = httpapi.PageMaxBody(cfg.PageSize, 2<<10)
	api.ReadError = readAPIError(cfg.PageSize)
	api.Limiter, api.Clock = lim, clock
	c.api = httpapi.NewClient(api)

	dl := common // no base URL: Stream takes the signed URL whole; no key
	dl.Transport = countingTransport{next: dlRT, n: &c.requests}
	dl.Timeout = cfg.DownloadTimeout
	dl.ReadError = readDownloadError
	c.dl = httpapi.NewClient(dl)
	return c, nil
}

// countingTransport counts the attempts that go through it.
type countingTransport struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.next.RoundTrip(r)
}

// readAPIError reads an error answer of the API and says what a person
// should do about it.
func readAPIError(pageSize int) func(*http.Response) error {
	return func(resp *http.Response) error {
		hint := ""
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			hint = "the compliance API key was refused (401): check api_key; it must be a Compliance API key of the workspace, not the OpenAI platform's Admin key"
		case http.StatusForbidden:
			hint = "the compliance API key may not read the compliance logs (403): the key needs the scope " + scope
		case http.StatusNotFound:
			hint = "not found (404): check base_url (it ends in /v1/compliance) and workspace_id or organization_id"
		case http.StatusUnprocessableEntity:
			hint = fmt.Sprintf("the API refused the listing (422): page_size (%d) must be one the API accepts, 1..100", pageSize)
		}
		return httpapi.ReadAPIError(resp, hint)
	}
}

// readDownloadError reads an error of the download host, a storage
// service that answers in text: its first line is the message.
func readDownloadError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	msg, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	return &httpapi.APIError{Status: resp.StatusCode, Message: msg,
		Hint: fmt.Sprintf("the download host refused the signed URL (%d)", resp.StatusCode)}
}

// listDoc is one JSON document of a listing's body.
type listDoc struct {
	Data        *[]fileEntry `json:"data"`
	HasMore     *bool        `json:"has_more"`
	LastEndTime *string      `json:"last_end_time"`
}

type fileEntry struct {
	ID         string  `json:"id"`
	EventType  string  `json:"event_type"`
	EndTime    string  `json:"end_time"`
	FileSize   *int64  `json:"file_size"`
	FileSHA256 *string `json:"file_sha256"`
}

// list reads one page of the files of eventType whose end_time is at or
// after after, oldest first. It refuses, as a garbled answer that is asked
// again, what cannot be a real page (see decodeFiles).
func (c *client) list(ctx context.Context, eventType string, after time.Time) (filePage, error) {
	q := url.Values{}
	q.Set("event_type", eventType)
	q.Set("after", after.UTC().Format(time.RFC3339Nano))
	q.Set("limit", strconv.Itoa(c.pageSize))
	var page filePage
	err := c.api.Get(ctx, c.path, q, func(body []byte) (err error) {
		page, err = decodeFiles(body, eventType, after, c.pageSize)
		return err
	})
	return page, err
}

// decodeFiles reads a listing: one JSON document, or several separated by
// white space, as the API has been seen to send (their files in order, the
// last document's has_more and last_end_time). It checks what a page must
// be: at most limit files, each of eventType with an id and an end_time
// not before after, in order of end_time; has_more with a last_end_time.
func decodeFiles(body []byte, eventType string, after time.Time, limit int) (filePage, error) {
	var page filePage
	d := jsontext.NewDecoder(bytes.NewBuffer(body))
	docs := 0
	for {
		v, err := d.ReadValue()
		if err == io.EOF {
			break
		}
		if err != nil {
			return filePage{}, fmt.Errorf("not valid JSON: %w", err)
		}
		docs++
		var doc listDoc
		if err := json.Unmarshal(v, &doc); err != nil {
			return filePage{}, fmt.Errorf("document %d: %w", docs, err)
		}
		if doc.Data == nil || doc.HasMore == nil {
			return filePage{}, fmt.Errorf("document %d: data or has_more is missing", docs)
		}
		page.HasMore = *doc.HasMore
		page.LastEndTime = time.Time{}
		if doc.LastEndTime != nil {
			if page.LastEndTime, err = time.Parse(time.RFC3339Nano, *doc.LastEndTime); err != nil {
				return filePage{}, fmt.Errorf("last_end_time %q is not an RFC 3339 time", *doc.LastEndTime)
			}
		}
		for _, e := range *doc.Data {
			f, err := e.file(eventType)
			if err != nil {
				return filePage{}, err
			}
			page.Files = append(page.Files, f)
		}
	}
	if docs == 0 {
		return filePage{}, errors.New("empty body")
	}
	if n := len(page.Files); n > limit {
		return filePage{}, fmt.Errorf("the page lists %d files, %d were asked for", n, limit)
	}
	for i, f := range page.Files {
		if f.EndTime.Before(after) {
			return filePage{}, fmt.Errorf("file %s ends at %s, before the after asked for (%s)", f.ID, f.EndTime.Format(time.RFC3339Nano), after.Format(time.RFC3339Nano))
		}
		if i > 0 && f.EndTime.Before(page.Files[i-1].EndTime) {
			return filePage{}, fmt.Errorf("file %s is listed after a file that ends later", f.ID)
		}
	}
	if page.HasMore {
		switch {
		case page.LastEndTime.IsZero():
			return filePage{}, errors.New("has_more is true but last_end_time is null")
		case page.LastEndTime.Before(after):
			return filePage{}, errors.New("has_more is true but last_end_time goes back before after")
		}
	}
	return page, nil
}

// lister walks the listing of one event type from after on, page after
// page, and hands on each file once: the API lists the files at a page's
// boundary again (its after is inclusive in practice), which the lister
// drops by id. It stops with an error when the listing cannot move on.
type lister struct {
	c     *client
	typ   string
	after time.Time
	more  bool
	// seen holds the files listed at or after after: the next page lists
	// those at after again.
	seen map[string]time.Time
	// skip, when set, drops a file as if it had been handed on before
	// (the files a checkpoint has done).
	skip func(File) bool
}

func newLister(c *client, eventType string, after time.Time, skip func(File) bool) *lister {
	return &lister{c: c, typ: eventType, after: after, more: true, seen: map[string]time.Time{}, skip: skip}
}

// next lists the next page and returns its files not handed on before, in
// the API's order; l.more is false once the last page was listed.
func (l *lister) next(ctx context.Context) ([]File, error) {
	page, err := l.c.list(ctx, l.typ, l.after)
	if err != nil {
		return nil, fmt.Errorf("listing the files of %s after %s: %w", l.typ, l.after.Format(time.RFC3339), err)
	}
	var out []File
	for _, f := range page.Files {
		if _, dup := l.seen[f.ID]; dup || (l.skip != nil && l.skip(f)) {
			continue
		}
		l.seen[f.ID] = f.EndTime
		out = append(out, f)
	}
	l.more = page.HasMore
	if !page.HasMore {
		return out, nil
	}
	if len(out) == 0 && !page.LastEndTime.After(l.after) {
		return nil, pipeline.Permanent(fmt.Errorf("listing the files of %s: the API lists the same %d file(s) at %s again and again; page_size (%d) is too small to pass them: raise it",
			l.typ, len(page.Files), l.after.Format(time.RFC3339Nano), l.c.pageSize))
	}
	l.after = page.LastEndTime
	for id, end := range l.seen {
		if end.Before(l.after) {
			delete(l.seen, id) // the next pages cannot list it again
		}
	}
	return out, nil
}

// file checks one entry of data.
func (e fileEntry) file(eventType string) (File, error) {
	if e.ID == "" || strings.ContainsAny(e.ID, "/?#") {
		return File{}, fmt.Errorf("a file without a valid id (%q)", e.ID)
	}
	if e.EventType != "" && e.EventType != eventType {
		return File{}, fmt.Errorf("file %s is of event_type %s, %s was asked for", e.ID, e.EventType, eventType)
	}
	end, err := time.Parse(time.RFC3339Nano, e.EndTime)
	if err != nil {
		return File{}, fmt.Errorf("file %s: end_time %q is not an RFC 3339 time", e.ID, e.EndTime)
	}
	f := File{ID: e.ID, Type: eventType, EndTime: end.UTC(), Size: -1}
	if e.FileSize != nil {
		if *e.FileSize < 0 {
			return File{}, fmt.Errorf("file %s: file_size %d", e.ID, *e.FileSize)
		}
		f.Size = *e.FileSize
	}
	if e.FileSHA256 != nil && *e.FileSHA256 != "" {
		sum, err := hex.DecodeString(*e.FileSHA256)
		if err != nil || len(sum) != 32 {
			return File{}, fmt.Errorf("file %s: file_sha256 %q is not a SHA-256 in hex", e.ID, *e.FileSHA256)
		}
		f.SHA256 = hex.EncodeToString(sum)
	}
	return f, nil
}

// ErrFileGone is the error of a file the API no longer has (404: its
// retention ended after it was listed).
var ErrFileGone = errors.New("the file is gone")

// signedURL asks the API where file id can be downloaded: it answers with
// a redirect to a signed URL on another host, which is not followed here
// (see download). The URL must be https, or http on a loopback address
// (a test or a local proxy): a signed URL is a credential too.
func (c *client) signedURL(ctx context.Context, id string) (*url.URL, error) {
	var loc *url.URL
	err := c.api.Stream(ctx, c.path+"/"+url.PathEscape(id), func(resp *http.Response) error {
		if resp.StatusCode < 300 {
			return pipeline.Permanent(fmt.Errorf("the download endpoint of file %s answered %d, not a redirect to the file", id, resp.StatusCode))
		}
		raw := resp.Header.Get("Location")
		u, err := resp.Request.URL.Parse(raw)
		if raw == "" || err != nil {
			return fmt.Errorf("the download endpoint of file %s answered %d without a valid Location", id, resp.StatusCode)
		}
		if u.Scheme != "https" && !(u.Scheme == "http" && pipeline.IsLoopback(u.Hostname())) {
			return pipeline.Permanent(fmt.Errorf("the download URL of file %s is %s://%s, not https: refused", id, u.Scheme, u.Host))
		}
		loc = u
		return nil
	})
	var apiErr *httpapi.APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
		return nil, fmt.Errorf("file %s: %w (%v)", id, ErrFileGone, err)
	}
	return loc, err
}

// download fetches file f from a signed URL into sp, asking the API for a
// new URL when the download host refuses one (403 or 400: it expired
// while the download was retried), at most retries times. Only the API
// client sends the key: the download client has none, so no request to
// the download host carries it, whichever host the URL names.
func (c *client) download(ctx context.Context, f File, sp *spool, retries int) error {
	for attempt := 0; ; attempt++ {
		u, err := c.signedURL(ctx, f.ID)
		if err != nil {
			return err
		}
		err = c.dl.Stream(ctx, u.String(), func(resp *http.Response) error {
			if resp.StatusCode >= 300 {
				return pipeline.Permanent(fmt.Errorf("the download host answered %d for file %s, a redirect not followed", resp.StatusCode, f.ID))
			}
			return sp.fill(resp.Body, f)
		})
		var apiErr *httpapi.APIError
		if err != nil && errors.As(err, &apiErr) && (apiErr.Status == http.StatusForbidden || apiErr.Status == http.StatusBadRequest) &&
			attempt < retries && ctx.Err() == nil {
			c.log.Debug("the signed URL was refused; asking for a new one", "file", f.ID, "status", apiErr.Status)
			continue
		}
		if err != nil {
			return fmt.Errorf("downloading file %s (%s, end_time %s): %w", f.ID, f.Type, f.EndTime.Format(time.RFC3339), err)
		}
		return nil
	}
}

// open downloads file f into a new spool, checked (see download), and
// returns the spool, which the caller closes, and a reader of its lines.
// A file the listing says is larger than max_file_bytes is refused before
// it is asked for.
func (c *client) open(ctx context.Context, f File, cfg *Config) (*spool, *lineReader, error) {
	if f.Size > cfg.MaxFileBytes {
		return nil, nil, pipeline.Permanent(fmt.Errorf("file %s (%s) has %d bytes, more than max_file_bytes (%d)", f.ID, f.Type, f.Size, cfg.MaxFileBytes))
	}
	sp, err := newSpool(cfg.SpoolDir, cfg.MaxFileBytes, cfg.MaxLineBytes)
	if err != nil {
		return nil, nil, err
	}
	err = c.download(ctx, f, sp, cfg.MaxRetries)
	var lines *lineReader
	if err == nil {
		lines, err = sp.lines()
	}
	if err != nil {
		sp.Close()
		return nil, nil, err
	}
	return sp, lines, nil
}
