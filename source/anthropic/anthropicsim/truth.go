package anthropicsim

import "time"

// What a test needs to know to judge a client: which activities exist and
// are visible, their bytes, and the secrets they carry.

// Count is the number of activities that exist now (created_at not after
// Now()), the late ones not yet visible included. Activity i, for i below
// Count, is the i-th oldest.
func (s *Server) Count() int { return int(s.tl.Count(s.now().UnixNano())) }

// ActivityID is the id of activity i, whether or not it exists yet.
func (s *Server) ActivityID(i int) string { return string(s.appendID(nil, int64(i))) }

// Activity is the JSON of activity i exactly as the API serves it, whether
// or not it exists or is visible yet.
func (s *Server) Activity(i int) []byte {
	m := s.meta(int64(i))
	return s.appendActivity(nil, int64(i), &m, nil)
}

// VisibleAt is when activity i becomes visible: its created_at, later for
// a late activity.
func (s *Server) VisibleAt(i int) time.Time {
	m := s.meta(int64(i))
	return time.Unix(0, s.tl.Instant(int64(i))+m.late).UTC()
}

// ParentID is the parent organization's id. Its activities name its child
// organizations (Organizations), never the parent itself.
func (s *Server) ParentID() string { return s.dir.parentID }

// Organizations are the child organizations, in a fixed order.
func (s *Server) Organizations() []Organization { return append([]Organization(nil), s.dir.orgs...) }

// UserIDs are the ids of the people of the organization, what actor_ids[]
// filters on.
func (s *Server) UserIDs() []string {
	out := make([]string, len(s.dir.users))
	for i, u := range s.dir.users {
		out[i] = u.id
	}
	return out
}

// Truth is every activity visible now, for assertions: a complete reader
// delivers every one of IDs (a de-duplicating one each exactly once), and
// after redaction no sink output may contain any of Secrets.
type Truth struct {
	// IDs are the ids of the visible activities, oldest first: the API's
	// order read backwards (created_at, then id).
	IDs []string
	// ByOrganization lists IDs by organization_id, "" for the activities
	// whose organization is null (sign-ins, sign-outs, Compliance API
	// calls).
	ByOrganization map[string][]string
	// Types and Actors count the visible activities by type and by
	// actor.type.
	Types, Actors map[string]int
	// Late counts the visible activities that became visible after their
	// created_at (and may have been missed by a reader that never looks
	// back).
	Late int
	// Secrets are the distinct secrets written into what callers sent
	// (compliance_api_accessed's url and request_body): keys and webhook
	// URLs a redaction must remove.
	Secrets []string
}

// Truth renders every visible activity and reports what it holds. It costs
// a rendering of each: fine for the hundreds of thousands a test uses.
func (s *Server) Truth() Truth {
	tr := Truth{ByOrganization: map[string][]string{}, Types: map[string]int{}, Actors: map[string]int{}}
	seen := map[string]bool{}
	secret := func(x string) {
		if !seen[x] {
			seen[x] = true
			tr.Secrets = append(tr.Secrets, x)
		}
	}
	now := s.now().UnixNano()
	var scratch []byte
	for i := range s.tl.Count(now) {
		m := s.meta(i)
		if !s.visible(i, &m, now) {
			continue
		}
		id := string(s.appendID(nil, i))
		tr.IDs = append(tr.IDs, id)
		org := ""
		if m.org >= 0 {
			org = s.dir.orgs[m.org].ID
		}
		tr.ByOrganization[org] = append(tr.ByOrganization[org], id)
		tr.Types[catalog[m.typ].name]++
		tr.Actors[actorNames[m.actor]]++
		if m.late > 0 {
			tr.Late++
		}
		scratch = s.appendActivity(scratch[:0], i, &m, secret)
	}
	return tr
}
