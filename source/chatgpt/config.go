package chatgpt

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/auditrelay/auditrelay/config/tlsconfig"
	"github.com/auditrelay/auditrelay/pipeline"
	schema "github.com/auditrelay/auditrelay/schema/chatgpt"
	"github.com/auditrelay/auditrelay/source/httpapi"
	"github.com/auditrelay/auditrelay/source/openai"
)

// DefaultBaseURL is the root of the Compliance API.
const DefaultBaseURL = "https://api.chatgpt.com/v1/compliance"

// retention is how long the API keeps a file, as collectors observe it:
// about 30 days.
const retention = 30 * 24 * time.Hour

// expiring is how close to the end of its retention a file must be for a
// 404 on its download to be taken as its expiry. A younger file that
// answers 404 is an error of the API (or of a proxy), not an expiry:
// skipping it would lose its records for good.
const expiring = 24 * time.Hour

// Config configures the compliance-log source: it reads a ChatGPT
// Enterprise or Edu workspace's Compliance Logs, the JSONL files the API
// exports per event type, and delivers each record as an event.
//
// For each event type it lists the files from its checkpoint's end_time on,
// downloads each file (the key goes to the API only, never to the host of
// the signed download URL), checks its size and SHA-256 when the listing
// gives them, and delivers its lines in order in windows of at most
// max_window_events records. The checkpoint records the line reached inside
// a file, so a restart re-downloads that file and goes on from there. The
// files of all types are read in the order of their end_time, so that no
// type waits for another's back-fill. A listed file whose download answers
// 404 is passed over, with a warning, only within a day of the end of its
// 30 days; a younger one makes the source fail and retry, its checkpoint
// kept before the file, so that an error of the API loses nothing.
// timeout bounds a listing or a download's redirect, download_timeout a
// download; a download cut short, or whose SHA-256 does not match, is
// retried as a garbled listing is, up to max_retries.
type Config struct {
	// BaseURL is the root of the Compliance API, which the paths
	// /workspaces/{id}/logs and /organizations/{id}/logs are under
	// (default https://api.chatgpt.com/v1/compliance); another value is for
	// a proxy or a simulator.
	BaseURL string `koanf:"base_url"`
	// APIKey is the Compliance API key of the workspace (required; keep it
	// out of the file with ${env:CHATGPT_COMPLIANCE_KEY}). It needs the
	// scope chatgpt.enterprise.compliance_export.read; it is not the Admin
	// key of the OpenAI platform. It is sent to base_url only.
	APIKey pipeline.Secret `koanf:"api_key"`
	// WorkspaceID is the id (a UUID) of the ChatGPT Enterprise or Edu
	// workspace whose logs are read. Set it or organization_id, not both.
	WorkspaceID string `koanf:"workspace_id"`
	// OrganizationID is the id of the organization (org-...) whose logs are
	// read, for a key of the organization. Set it or workspace_id, not
	// both.
	OrganizationID string `koanf:"organization_id"`
	// EventTypes are the event types read, each listed and checkpointed on
	// its own (default: every type auditrelay knows: CONVERSATION_MESSAGE,
	// AUDIT_LOG, AUTH_LOG, APP_LOG, APP_AUTH_LOG, CODEX_LOG,
	// CODEX_SECURITY_LOG, CUSTOM_AGENTS_LOG, CHATGPT_PLUGIN_SPREADSHEET). A
	// type auditrelay does not know is read too, its records passed
	// through as sent.
	EventTypes []string `koanf:"event_types"`
	// StartAt is where an event type without a checkpoint begins: an RFC
	// 3339 time (2026-01-01T00:00:00Z) or a duration back from now
	// (default 720h, 30 days): the files whose end_time is at or after it.
	// The API keeps files about 30 days: an earlier start_at is accepted,
	// and the source logs once that the files older than that are gone.
	// Once a type has a checkpoint, start_at is ignored for it.
	StartAt openai.StartAt `koanf:"start_at"`
	// PollInterval is the wait between two readings of the file lists
	// once caught up (default 5m). The API does not say how often new
	// files appear; collectors poll every few minutes.
	PollInterval time.Duration `koanf:"poll_interval"`
	// PageSize is the `limit` of each file listing, 1..100 (default 100).
	// The API lists the file at the boundary again (its `after` is
	// inclusive in practice), so a page must hold more files than share
	// one end_time for the listing to move on.
	PageSize int `koanf:"page_size"`
	// KeepContent keeps what people wrote (conversation messages and
	// titles, app inputs and outputs, agent messages, instructions and
	// memories: the members schema/chatgpt names for each type) in the
	// events. By default (false) the source replaces each such value by
	// {"sha256": "<hex digest of the text, or of the JSON of an object>",
	// "length": <characters>} before the record leaves the source, so
	// conversation text never enters the pipeline, its sinks or their
	// logs; the other bytes of the record stay as the API sent them. Set it
	// to true to archive the conversations themselves.
	KeepContent bool `koanf:"keep_content"`
	// MaxWindowEvents bounds the records of one window, the unit the
	// sinks commit and the checkpoint moves by (default 5000). A file
	// larger than that is delivered in several windows; a stop replays at
	// most the window in delivery.
	MaxWindowEvents int `koanf:"max_window_events"`
	// BatchSize is the number of events per batch handed to the sinks
	// (default 1000).
	BatchSize int `koanf:"batch_size"`
	// DedupIDs is how many of the last event_ids delivered of each event
	// type are remembered, in memory and in the checkpoint, to drop a
	// record the API exports twice (delivery is at least once, and a file
	// may repeat the last lines of the one before) (default 1000, 0: no
	// de-duplication). Each id costs about 100 bytes of memory and 40 of
	// checkpoint.
	DedupIDs int `koanf:"dedup_ids"`
	// OnInvalidEvent is what a line that is not a record (not a JSON
	// object, no event_id, no valid timestamp) does: stall (default)
	// stops the source at it, reported with the file and line, so that
	// nothing is skipped unseen; dead_letter sends it to the dead-letter
	// sink (a dead_letter section is then required) with the reason, and
	// the source goes on. A line that is not JSON is sent as
	// {"unparsed_line": <the text>}, or with keep_content false as
	// {"unparsed_line": {"sha256": ..., "length": ...}}. One of: stall,
	// dead_letter.
	OnInvalidEvent string `koanf:"on_invalid_event"`
	// SpoolDir is the directory a file is downloaded to before it is read
	// (default: the system's temporary directory); it is created (mode
	// 0700) when it does not exist. A file is read only once it has arrived
	// whole and its size and SHA-256 match the listing, so it needs up to
	// max_file_bytes of disk here; it is removed once read.
	SpoolDir string `koanf:"spool_dir"`
	// MaxFileBytes bounds one downloaded file, in bytes (default 16 GiB,
	// 17179869184); a larger file stops the source, naming the file.
	MaxFileBytes int64 `koanf:"max_file_bytes"`
	// MaxLineBytes bounds one line of a file, in bytes (default 16 MiB,
	// 16777216); a longer line stops the source, naming the file and line,
	// rather than filling the memory.
	MaxLineBytes int `koanf:"max_line_bytes"`
	// Retry holds timeout, max_retries, retry_wait_min, retry_wait_max and
	// max_retry_after.
	httpapi.Retry `koanf:",squash"`
	// DownloadTimeout bounds the download of one file, body included
	// (default 1h).
	DownloadTimeout time.Duration `koanf:"download_timeout"`
	// TLS configures the client's TLS, for both the API and the download
	// host (a proxy that inspects TLS needs its CA for both); server_name
	// applies to the API only.
	TLS tlsconfig.Config `koanf:"tls"`
}

// The values of on_invalid_event.
const (
	InvalidStall      = httpapi.InvalidStall
	InvalidDeadLetter = httpapi.InvalidDeadLetter
)

var (
	_ pipeline.Config      = (*Config)(nil)
	_ pipeline.SpecChecker = (*Config)(nil)
	_ pipeline.Warner      = (*Config)(nil)
)

func DefaultConfig() *Config {
	return &Config{
		BaseURL:         DefaultBaseURL,
		EventTypes:      slices.Clone(schema.EventTypes),
		StartAt:         openai.StartAt{Ago: 720 * time.Hour},
		PollInterval:    5 * time.Minute,
		PageSize:        100,
		MaxWindowEvents: 5000,
		BatchSize:       1000,
		DedupIDs:        1000,
		OnInvalidEvent:  InvalidStall,
		MaxFileBytes:    16 << 30,
		MaxLineBytes:    16 << 20,
		Retry:           httpapi.DefaultRetry(),
		DownloadTimeout: time.Hour,
	}
}

// typeName is the shape of an event type name: upper-case words joined by
// underscores, as the API writes them.
var typeName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// Validate implements pipeline.Config.
func (c *Config) Validate() error {
	_, urlErr := httpapi.CheckBaseURL(c.BaseURL, DefaultBaseURL)
	errs := []error{urlErr, httpapi.CheckAPIKey(c.APIKey, "a Compliance API key; use ${env:CHATGPT_COMPLIANCE_KEY}")}
	add := func(key, format string, args ...any) { errs = append(errs, pipeline.FieldError(key, format, args...)) }
	switch {
	case c.WorkspaceID == "" && c.OrganizationID == "":
		add("workspace_id", "set workspace_id (a UUID) or organization_id (org-...)")
	case c.WorkspaceID != "" && c.OrganizationID != "":
		add("organization_id", "set workspace_id or organization_id, not both")
	case strings.HasPrefix(c.WorkspaceID, "org-"):
		add("workspace_id", "%q is an organization id (it begins org-): set it as organization_id", c.WorkspaceID)
	case c.OrganizationID != "" && !strings.HasPrefix(c.OrganizationID, "org-"):
		add("organization_id", "%q does not begin org-: a workspace's id (a UUID) goes in workspace_id", c.OrganizationID)
	}
	for key, id := range map[string]string{"workspace_id": c.WorkspaceID, "organization_id": c.OrganizationID} {
		if strings.ContainsAny(id, "/?# \t\r\n") {
			add(key, "%q is not an id", id)
		}
	}
	if len(c.EventTypes) == 0 {
		add("event_types", "must list at least one event type")
	}
	for i, t := range c.EventTypes {
		switch {
		case !typeName.MatchString(t):
			add(fmt.Sprintf("event_types[%d]", i), "%q is not an event type name (upper case, such as AUDIT_LOG)", t)
		case slices.Index(c.EventTypes, t) < i:
			add(fmt.Sprintf("event_types[%d]", i), "%s is listed twice", t)
		}
	}
	errs = append(errs, c.StartAt.Validate())
	if c.PollInterval <= 0 {
		add("poll_interval", "must be > 0")
	}
	if c.PageSize < 1 || c.PageSize > 100 {
		add("page_size", "must be between 1 and 100, got %d", c.PageSize)
	}
	if c.MaxWindowEvents < 1 {
		add("max_window_events", "must be >= 1")
	}
	if c.BatchSize < 1 {
		add("batch_size", "must be >= 1")
	}
	if c.DedupIDs < 0 {
		add("dedup_ids", "must be >= 0")
	}
	errs = append(errs, httpapi.CheckOnInvalidEvent(c.OnInvalidEvent))
	if c.MaxFileBytes < 1 {
		add("max_file_bytes", "must be >= 1")
	}
	if c.MaxLineBytes < 1<<10 {
		add("max_line_bytes", "must be >= 1024")
	}
	errs = append(errs, c.Retry.Validate())
	if c.DownloadTimeout <= 0 {
		add("download_timeout", "must be > 0")
	}
	errs = append(errs, pipeline.SectionErrors("tls", c.TLS.Validate())...)
	if err := c.TLS.CheckURL(c.BaseURL); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// CheckSpec implements pipeline.SpecChecker: on_invalid_event: dead_letter
// needs a dead-letter sink.
func (c *Config) CheckSpec(_ string, spec pipeline.Spec) error {
	return httpapi.CheckDeadLetter(c.OnInvalidEvent, spec)
}

// Warnings implements pipeline.Warner: the key sent over plain http, and
// event types auditrelay does not know (a typo reads no file, silently).
func (c *Config) Warnings() []error {
	var out []error
	if w := pipeline.InClear("base_url", c.BaseURL, "the compliance API key"); w != nil {
		out = append(out, w)
	}
	for i, t := range c.EventTypes {
		if typeName.MatchString(t) && !slices.Contains(schema.EventTypes, t) {
			out = append(out, pipeline.FieldError(fmt.Sprintf("event_types[%d]", i),
				"%s is not an event type auditrelay knows: it is read all the same, its records passed through as sent", t))
		}
	}
	return out
}

// principalPath is the path of the workspace's or organization's logs,
// below base_url.
func (c *Config) principalPath() string {
	if c.OrganizationID != "" {
		return "/organizations/" + url.PathEscape(c.OrganizationID) + "/logs"
	}
	return "/workspaces/" + url.PathEscape(c.WorkspaceID) + "/logs"
}
