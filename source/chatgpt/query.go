package chatgpt

import (
	"context"
	"iter"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/source/httpapi"
)

// Client reads a workspace's compliance logs on demand, for a caller that
// is not a pipeline (the CLI's list, get, export and stats): the source's
// own listing, checked downloads and reading of records, without its
// checkpoint, windows or polling. The key goes to base_url only, never to
// the download host. Safe for concurrent use; each FileReader is not.
type Client struct {
	c    *client
	cfg  Config
	name string
}

// NewClient returns a client of cfg, which it validates (the keys of the
// source's section: base_url, api_key, workspace_id or organization_id,
// page_size, keep_content, the spool, the sizes, timeouts, retries, tls).
// Start from DefaultConfig. set names the client in its logs and as each
// event's Source, and gives the logger.
func NewClient(set pipeline.Settings, cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	clock := httpapi.NewClock(time.Now)
	lim := (*httpapi.Limiters)(nil).ForBaseURL(cfg.BaseURL, cfg.APIKey.Value(), nil)
	c := &Client{cfg: cfg, name: set.Name}
	var err error
	if c.c, err = newClient(set, &c.cfg, lim, clock, nil); err != nil {
		return nil, err
	}
	return c, nil
}

// ListFiles lists the files of eventType whose end_time is at or after
// after, in the API's order (oldest end_time first), each once, page after
// page until the last or until the caller stops ranging. A listing that
// fails (after its retries) yields the error and ends. Each page is one
// request of at most page_size files; stopping early saves the rest.
func (c *Client) ListFiles(ctx context.Context, eventType string, after time.Time) iter.Seq2[File, error] {
	return func(yield func(File, error) bool) {
		l := newLister(c.c, eventType, after, nil)
		for l.more {
			files, err := l.next(ctx)
			if err != nil {
				yield(File{}, err)
				return
			}
			for _, f := range files {
				if !yield(f, nil) {
					return
				}
			}
		}
	}
}

// Open downloads file f and checks it as the source does (size and
// SHA-256 when the listing gave them, else that it does not end inside a
// line), retrying a failed or refused download, before anything of it is
// read: the reader returned holds a file known whole. The file is spooled
// to spool_dir; Close removes it. A file gone since it was listed is an
// error wrapping ErrFileGone.
func (c *Client) Open(ctx context.Context, f File) (*FileReader, error) {
	sp, lines, err := c.c.open(ctx, f, &c.cfg)
	if err != nil {
		return nil, err
	}
	return &FileReader{f: f, sp: sp, lines: lines, rd: newRecordReader(c.name, &c.cfg), observed: time.Now().UTC()}, nil
}

// FileReader reads the records of one downloaded file, in order. It is
// not safe for concurrent use.
type FileReader struct {
	f        File
	sp       *spool
	lines    *lineReader
	rd       recordReader
	n        int64
	observed time.Time
}

// Next returns the next record of the file as the source would deliver
// it: routing fields from schema/chatgpt, Raw the record with what people
// wrote replaced by its SHA-256 and length unless keep_content. Blank
// lines are skipped; io.EOF follows the last record. A line that is not a
// record is an error naming the file and line, or with on_invalid_event:
// dead_letter an event whose Invalid says why. A line longer than
// max_line_bytes is an error. The event's Raw stays valid after the next
// call.
func (r *FileReader) Next() (pipeline.Event, error) {
	for {
		line, err := r.lines.nextOf(r.f, r.n)
		if err != nil {
			return pipeline.Event{}, err
		}
		r.n++
		ev, err := r.rd.record(line, r.f, r.n, r.observed)
		if err != nil || ev.ID != "" {
			return ev, err
		}
	}
}

// Close removes the downloaded file. Safe twice.
func (r *FileReader) Close() error {
	if r.sp == nil {
		return nil
	}
	err := r.sp.Close()
	r.sp = nil
	return err
}
