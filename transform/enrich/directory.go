package enrich

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// The entries are what an event's auditrelay object shows of them (their
// JSON keys sorted, as every encoded object of the project).

type user struct {
	Email string `json:"email"`
	Name  string `json:"name"`
	Role  string `json:"role,omitempty"`
	Type  string `json:"type"` // user
}

type project struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

type key struct {
	Name  string `json:"name"`
	Owner *owner `json:"owner,omitempty"`
}

type owner struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"` // user | service_account
}

type account struct {
	Name string `json:"name"`
	Role string `json:"role"`
	Type string `json:"type"` // service_account
}

// directory is one immutable snapshot of the organization's directory.
type directory struct {
	loadedAt time.Time
	users    map[string]user
	projects map[string]project
	keys     map[string]key
	accounts map[string]account
	full     bool // false: max_entries cut it short
}

func (d *directory) size() int {
	return len(d.users) + len(d.projects) + len(d.keys) + len(d.accounts)
}

// loader lists the directory through the Admin API.
type loader struct {
	base   string
	apiKey string
	max    int
	client *retryablehttp.Client
}

type listResponse struct {
	Data    []json.RawMessage `json:"data"`
	HasMore bool              `json:"has_more"`
	LastID  *string           `json:"last_id"`
}

// load lists everything; it blocks until done or ctx ends.
func (l *loader) load(ctx context.Context, now time.Time) (*directory, error) {
	d := &directory{loadedAt: now, users: map[string]user{}, projects: map[string]project{},
		keys: map[string]key{}, accounts: map[string]account{}, full: true}
	room := func() bool {
		if d.size() >= l.max {
			d.full = false
			return false
		}
		return true
	}
	err := l.list(ctx, "/organization/users", nil, func(raw json.RawMessage) error {
		var u struct{ ID, Name, Email, Role string }
		if err := json.Unmarshal(raw, &u); err != nil {
			return err
		}
		if room() {
			d.users[u.ID] = user{Name: u.Name, Email: u.Email, Role: u.Role, Type: "user"}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var pids []string
	err = l.list(ctx, "/organization/projects", url.Values{"include_archived": {"true"}}, func(raw json.RawMessage) error {
		var p struct{ ID, Name, Status string }
		if err := json.Unmarshal(raw, &p); err != nil {
			return err
		}
		if room() {
			d.projects[p.ID] = project{Name: p.Name, Status: p.Status}
			pids = append(pids, p.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, pid := range pids {
		err := l.list(ctx, "/organization/projects/"+url.PathEscape(pid)+"/service_accounts", nil, func(raw json.RawMessage) error {
			var a struct{ ID, Name, Role string }
			if err := json.Unmarshal(raw, &a); err != nil {
				return err
			}
			if room() {
				d.accounts[a.ID] = account{Name: a.Name, Role: a.Role, Type: "service_account"}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		err = l.list(ctx, "/organization/projects/"+url.PathEscape(pid)+"/api_keys", nil, func(raw json.RawMessage) error {
			var k struct {
				ID, Name string
				Owner    struct {
					Type           string
					User           *struct{ ID, Name string }
					ServiceAccount *struct{ ID, Name string } `json:"service_account"`
				}
			}
			if err := json.Unmarshal(raw, &k); err != nil {
				return err
			}
			v := key{Name: k.Name}
			o := owner{Type: k.Owner.Type}
			if k.Owner.User != nil {
				o.ID, o.Name = k.Owner.User.ID, k.Owner.User.Name
			}
			if k.Owner.ServiceAccount != nil {
				o.ID, o.Name = k.Owner.ServiceAccount.ID, k.Owner.ServiceAccount.Name
			}
			if o.ID != "" {
				v.Owner = &o
			}
			if room() {
				d.keys[k.ID] = v
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return d, nil
}

// list walks every page of one list endpoint.
func (l *loader) list(ctx context.Context, path string, q url.Values, each func(json.RawMessage) error) error {
	if q == nil {
		q = url.Values{}
	}
	q.Set("limit", "100")
	for page := 0; ; page++ {
		if page > 10_000 {
			return fmt.Errorf("GET %s: more than 10000 pages", path)
		}
		req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, l.base+path+"?"+q.Encode(), nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+l.apiKey)
		req.Header.Set("Accept", "application/json")
		resp, err := l.client.Do(req)
		if err != nil {
			return fmt.Errorf("GET %s: %w", path, scrub(err, l.apiKey))
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("GET %s: %w", path, err)
		}
		switch {
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return fmt.Errorf("GET %s: the admin key was refused (%d)", path, resp.StatusCode)
		case resp.StatusCode != http.StatusOK:
			return fmt.Errorf("GET %s: status %d", path, resp.StatusCode)
		}
		var lr listResponse
		if err := json.Unmarshal(body, &lr); err != nil {
			return fmt.Errorf("GET %s: %w", path, err)
		}
		for _, raw := range lr.Data {
			if err := each(raw); err != nil {
				return fmt.Errorf("GET %s: %w", path, err)
			}
		}
		if !lr.HasMore || len(lr.Data) == 0 || lr.LastID == nil || *lr.LastID == "" {
			return nil
		}
		q.Set("after", *lr.LastID)
	}
}

// scrub removes the key from an error text, should a transport ever echo it.
func scrub(err error, secret string) error {
	if secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "[redacted]"))
}
