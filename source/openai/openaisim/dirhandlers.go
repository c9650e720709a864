package openaisim

import (
	"net/http"
	"strconv"
)

// serveList writes one page of a directory list: of the items sel (indexes
// into one of the directory's slices, in listing order), paged with limit
// and after=<id>, where id(i) is the id of item i and write(b, i) writes
// it. It writes a 400 instead on a bad limit or an unknown cursor.
func serveList(w http.ResponseWriter, r *http.Request, sel []int, id func(i int) string, write func(b *jw, i int)) {
	limit, ok := parseLimit(w, r)
	if !ok {
		return
	}
	n, from := len(sel), 0
	if after := r.URL.Query().Get("after"); after != "" {
		from = -1
		for k := 0; k < n; k++ {
			if id(sel[k]) == after {
				from = k + 1
				break
			}
		}
		if from < 0 {
			badRequest(w, "Invalid 'after': no object with id '"+after+"' was found.", "after", "invalid_value")
			return
		}
	}
	to := min(from+limit, n)
	var first, last string
	if from < to {
		first, last = id(sel[from]), id(sel[to-1])
	}
	writeList(w, to-from, first, last, to < n, func(b *jw, k int) { write(b, sel[from+k]) }, nil)
}

func (s *Server) serveUsers(w http.ResponseWriter, r *http.Request) {
	var sel []int
	emails := r.URL.Query()["emails[]"]
	for i := range s.dir.users {
		if len(emails) == 0 || contains(emails, s.dir.users[i].email) {
			sel = append(sel, i)
		}
	}
	serveList(w, r, sel, func(i int) string { return s.dir.users[i].id }, func(b *jw, i int) { s.dir.writeUser(b, &s.dir.users[i]) })
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
	serveList(w, r, sel, func(i int) string { return s.dir.projects[i].id }, func(b *jw, i int) { s.dir.writeProject(b, &s.dir.projects[i]) })
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
	serveList(w, r, p.keys, func(i int) string { return s.dir.keys[i].id }, func(b *jw, i int) { s.dir.writeKey(b, &s.dir.keys[i]) })
}

func (s *Server) serveServiceAccounts(w http.ResponseWriter, r *http.Request) {
	p, ok := s.project(w, r)
	if !ok {
		return
	}
	serveList(w, r, p.accounts, func(i int) string { return s.dir.accounts[i].id }, func(b *jw, i int) { s.dir.writeAccount(b, &s.dir.accounts[i]) })
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
