package openaisim

import (
	"net/http"
	"strconv"
)

// listPage pages n items (in listing order) with limit and after=<id>,
// where id(i) is item i's id. It writes a 400 and returns ok=false on a bad
// limit or an unknown cursor.
func listPage(w http.ResponseWriter, r *http.Request, n int, id func(i int) string) (from, to int, hasMore, ok bool) {
	limit, ok := parseLimit(w, r)
	if !ok {
		return 0, 0, false, false
	}
	if after := r.URL.Query().Get("after"); after != "" {
		from = -1
		for i := 0; i < n; i++ {
			if id(i) == after {
				from = i + 1
				break
			}
		}
		if from < 0 {
			badRequest(w, "Invalid 'after': no object with id '"+after+"' was found.", "after", "invalid_value")
			return 0, 0, false, false
		}
	}
	to = min(from+limit, n)
	return from, to, to < n, true
}

func (s *Server) serveUsers(w http.ResponseWriter, r *http.Request) {
	var sel []int
	emails := r.URL.Query()["emails[]"]
	for i := range s.dir.users {
		if len(emails) == 0 || contains(emails, s.dir.users[i].email) {
			sel = append(sel, i)
		}
	}
	id := func(i int) string { return s.dir.users[sel[i]].id }
	from, to, more, ok := listPage(w, r, len(sel), id)
	if !ok {
		return
	}
	writeList(w, to-from, idOr(id, from, to, 0), idOr(id, from, to, 1), more, func(b *jw, k int) {
		s.dir.writeUser(b, &s.dir.users[sel[from+k]])
	}, nil)
}

func (s *Server) serveProjects(w http.ResponseWriter, r *http.Request) {
	archived := false
	if v := r.URL.Query().Get("include_archived"); v != "" {
		var err error
		if archived, err = strconv.ParseBool(v); err != nil {
			badRequest(w, "Invalid 'include_archived': expected a boolean, but got '"+v+"' instead.", "include_archived", "invalid_type")
			return
		}
	}
	var sel []int
	for i := range s.dir.projects {
		if archived || s.dir.projects[i].archivedAt == 0 {
			sel = append(sel, i)
		}
	}
	id := func(i int) string { return s.dir.projects[sel[i]].id }
	from, to, more, ok := listPage(w, r, len(sel), id)
	if !ok {
		return
	}
	writeList(w, to-from, idOr(id, from, to, 0), idOr(id, from, to, 1), more, func(b *jw, k int) {
		s.dir.writeProject(b, &s.dir.projects[sel[from+k]])
	}, nil)
}

func (s *Server) project(w http.ResponseWriter, r *http.Request) (*project, bool) {
	pid := r.PathValue("project_id")
	for i := range s.dir.projects {
		if s.dir.projects[i].id == pid {
			return &s.dir.projects[i], true
		}
	}
	writeError(w, http.StatusNotFound, "No such project: '"+pid+"'.", "invalid_request_error", "project_id", "not_found")
	return nil, false
}

func (s *Server) serveAPIKeys(w http.ResponseWriter, r *http.Request) {
	p, ok := s.project(w, r)
	if !ok {
		return
	}
	id := func(i int) string { return s.dir.keys[p.keys[i]].id }
	from, to, more, ok := listPage(w, r, len(p.keys), id)
	if !ok {
		return
	}
	writeList(w, to-from, idOr(id, from, to, 0), idOr(id, from, to, 1), more, func(b *jw, k int) {
		s.dir.writeKey(b, &s.dir.keys[p.keys[from+k]])
	}, nil)
}

func (s *Server) serveServiceAccounts(w http.ResponseWriter, r *http.Request) {
	p, ok := s.project(w, r)
	if !ok {
		return
	}
	id := func(i int) string { return s.dir.accounts[p.accounts[i]].id }
	from, to, more, ok := listPage(w, r, len(p.accounts), id)
	if !ok {
		return
	}
	writeList(w, to-from, idOr(id, from, to, 0), idOr(id, from, to, 1), more, func(b *jw, k int) {
		s.dir.writeAccount(b, &s.dir.accounts[p.accounts[from+k]])
	}, nil)
}

// idOr returns the first (which=0) or last (which=1) id of [from, to), or ""
// when the range is empty.
func idOr(id func(int) string, from, to, which int) string {
	if from >= to {
		return ""
	}
	if which == 0 {
		return id(from)
	}
	return id(to - 1)
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
