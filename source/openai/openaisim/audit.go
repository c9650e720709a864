package openaisim

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
)

const (
	actorNull uint8 = iota
	actorSess
	actorKey
)

// meta is what filtering needs to know about event i; it is cheap to
// compute (a handful of draws) and carries the stream on to the payload.
type meta struct {
	typ   int
	late  bool
	actor uint8
	who   int    // user index (session) or key index (api key)
	proj  int    // project index, -1 when absent
	res   uint64 // directory index for directory kinds, random bits for generic ids
	r     simkit.RNG
}

func (s *Server) auditMeta(i int64) meta {
	r := newRNG(s.key ^ uint64(i))
	m := meta{proj: -1}
	m.late = r.Next() < s.lateCut
	m.typ = pickType(r.Next())
	t := &catalog[m.typ]
	d := s.dir
	switch t.res {
	case resProject:
		m.res = uint64(r.Intn(len(d.projects)))
	case resUser:
		m.res = uint64(r.Intn(len(d.users)))
	case resKey:
		m.res = uint64(r.Intn(len(d.keys)))
	case resAccount:
		m.res = uint64(r.Intn(len(d.accounts)))
	case resGeneric:
		m.res = r.Next()
	}
	switch t.scope {
	case scopeRes:
		switch t.res {
		case resProject:
			m.proj = int(m.res)
		case resKey:
			m.proj = d.keys[m.res].project
		case resAccount:
			m.proj = d.accounts[m.res].project
		default:
			m.proj = r.Intn(len(d.projects))
		}
	case scopeAlways:
		m.proj = r.Intn(len(d.projects))
	case scopeSome:
		if x := r.Next(); x&1 == 0 {
			m.proj = int(x>>1) % len(d.projects)
		}
	}
	if t.actor == actorSession {
		m.actor, m.who = actorSess, r.Intn(len(d.users))
	} else {
		switch x := r.Intn(100); {
		case x < 3:
			m.actor = actorNull
		case x < 63:
			m.actor, m.who = actorSess, r.Intn(len(d.users))
		default:
			m.actor, m.who = actorKey, r.Intn(len(d.keys))
		}
	}
	m.r = r
	return m
}

// appendResID appends the event's resource id (unquoted); ok is false when
// the type has none.
func (s *Server) appendResID(b []byte, m *meta) ([]byte, bool) {
	t := &catalog[m.typ]
	switch t.res {
	case resProject:
		return append(b, s.dir.projects[m.res].id...), true
	case resUser:
		return append(b, s.dir.users[m.res].id...), true
	case resKey:
		return append(b, s.dir.keys[m.res].id...), true
	case resAccount:
		return append(b, s.dir.accounts[m.res].id...), true
	case resOrg:
		return append(b, s.dir.orgID...), true
	case resGeneric:
		b = append(b, t.prefix...)
		return appendAlnumOf(b, m.res, 24), true
	}
	return b, false
}

func appendDate(b []byte, sec int64) []byte {
	y, mo, d := time.Unix(sec, 0).UTC().Date()
	b = strconv.AppendInt(b, int64(y), 10)
	b = append(b, byte('0'+int(mo)/10), byte('0'+int(mo)%10), byte('0'+d/10), byte('0'+d%10))
	return b
}

const auditIDPrefix = "audit_log-"

func (s *Server) appendAuditID(b []byte, i, sec int64) []byte {
	b = append(b, auditIDPrefix...)
	b = simkit.AppendHex64(b, s.auditID.Encode(uint64(i)))
	b = append(b, '_')
	return appendDate(b, sec)
}

// decodeAuditID returns the index an id stands for, if it is one of this
// simulator's ids of an event that exists (visible or late) before limit.
func (s *Server) decodeAuditID(id string, limit int64) (int64, bool) {
	const n = len(auditIDPrefix)
	if len(id) < n+16+1+8 || id[:n] != auditIDPrefix || id[n+16] != '_' {
		return 0, false
	}
	x, ok := parseHex64(id[n : n+16])
	if !ok {
		return 0, false
	}
	u := s.auditID.Decode(x)
	if u >= uint64(limit) {
		return 0, false
	}
	i := int64(u)
	if string(appendDate(nil, s.audit.Second(i))) != id[n+17:] {
		return 0, false
	}
	return i, true
}

func (s *Server) visible(late bool, inst, now int64) bool {
	if late {
		return inst+s.lateNs <= now
	}
	return inst <= now
}

// appendEvent renders audit event i.
func (s *Server) appendEvent(b []byte, i int64) []byte {
	m := s.auditMeta(i)
	return s.appendEventMeta(b, i, &m)
}

func (s *Server) appendEventMeta(b []byte, i int64, m *meta) []byte {
	return s.appendEventAs(b, i, i, m)
}

// appendEventAs renders audit event i under the id of index id.
func (s *Server) appendEventAs(b []byte, i, id int64, m *meta) []byte {
	t := &catalog[m.typ]
	d := s.dir
	r := &m.r
	sec := s.audit.Second(i)
	w := jw{simkit.JSON{B: b}}
	w.Open()
	w.Key("id")
	w.B = append(w.B, '"')
	w.B = s.appendAuditID(w.B, id, sec)
	w.B = append(w.B, '"')
	w.KStr("type", t.name)
	w.KInt("effective_at", sec)
	if m.proj >= 0 {
		p := &d.projects[m.proj]
		w.Key("project")
		w.Open()
		w.KStr("id", p.id)
		w.KStr("name", p.name)
		w.Close()
	}
	w.Key("actor")
	switch m.actor {
	case actorNull:
		w.Null()
	case actorSess:
		u := &d.users[m.who]
		w.Open()
		w.tag("session")
		w.Open()
		w.Key("user")
		writeActorUser(&w, u)
		ip, pl := u.ip, u.place
		if r.Chance(0.1) { // travelling, or a VPN
			ip = "185." + strconv.Itoa(r.Intn(256)) + "." + strconv.Itoa(r.Intn(256)) + "." + strconv.Itoa(r.Between(1, 254))
			pl = r.Intn(len(places))
		}
		w.KStr("ip_address", ip)
		if !r.Chance(0.08) { // older events carry only user and ip_address
			w.KStr("user_agent", u.ua)
			w.KStr("ja3", u.ja3)
			w.KStr("ja4", u.ja4)
			p := &places[pl]
			w.Key("ip_address_details")
			w.Open()
			w.KStr("country", p.country)
			w.KStr("city", p.city)
			w.KStr("region", p.region)
			w.KStr("region_code", p.regionCode)
			w.KStr("asn", p.asn)
			w.KStr("latitude", p.lat)
			w.KStr("longitude", p.lon)
			w.Close()
		}
		w.Close()
		w.Close()
	case actorKey:
		k := &d.keys[m.who]
		w.Open()
		w.tag("api_key")
		w.Open()
		w.KStr("id", k.id)
		if k.account >= 0 {
			w.tag("service_account")
			w.Open()
			w.KStr("id", d.accounts[k.account].id)
			w.Close()
		} else {
			u := &d.users[max(k.user, 0)]
			w.tag("user")
			writeActorUser(&w, u)
		}
		w.Close()
		w.Close()
	}
	w.Key(t.name)
	w.Open()
	if t.res != resNone {
		w.Key("id")
		w.B = append(w.B, '"')
		w.B, _ = s.appendResID(w.B, m)
		w.B = append(w.B, '"')
	}
	if t.payload != nil {
		t.payload(&w, r, s, m)
	}
	w.Close()
	if !t.known { // undocumented types come with fields nobody has seen yet
		w.KInt("schema_version", int64(r.Between(2, 4)))
		w.Key("x_trace")
		w.Open()
		w.kid("span_id", "", r, 16)
		w.KStr("region", simkit.Pick(r, []string{"us-east-1", "eu-west-1", "ap-northeast-1"}))
		w.Close()
	}
	w.Close()
	return w.B
}

// writeActorUser writes {"id":..,"email":..}, the user of an audit event's
// actor (a session's, or an API key's owner).
func writeActorUser(w *jw, u *user) {
	w.Open()
	w.KStr("id", u.id)
	w.KStr("email", u.email)
	w.Close()
}

// Event returns the raw JSON of audit event i (in effective_at order),
// whether or not it is visible yet.
func (s *Server) Event(i int) []byte { return s.appendEvent(nil, int64(i)) }

// EventID returns the id of audit event i.
func (s *Server) EventID(i int) string {
	return string(s.appendAuditID(nil, int64(i), s.audit.Second(int64(i))))
}

// VisibleIDs returns the ids of the audit events with effective_at before
// until that are visible now, oldest first: exactly what a reader without
// filters (tenant_only=false) can fetch, so tenant.* events are left out (see
// VisibleTenantIDs).
func (s *Server) VisibleIDs(until time.Time) []string { return s.visibleIDs(until, false) }

// VisibleTenantIDs is VisibleIDs for the tenant.* events, which only
// tenant_only=true queries return.
func (s *Server) VisibleTenantIDs(until time.Time) []string { return s.visibleIDs(until, true) }

func (s *Server) visibleIDs(until time.Time, tenant bool) []string {
	now := s.now().UnixNano()
	hi := s.audit.Count(now)
	hi = s.audit.FirstFrom(ceilSeconds(until), hi)
	var out []string
	for i := int64(0); i < hi; i++ {
		m := s.auditMeta(i)
		if catalog[m.typ].tenant == tenant && s.visible(m.late, s.audit.Instant(i), now) {
			out = append(out, s.EventID(int(i)))
		}
	}
	return out
}

// ceilSeconds is the smallest whole second s with s >= t, so that
// "effective_at < t" is "effective_at < ceilSeconds(t)".
func ceilSeconds(t time.Time) int64 {
	sec := t.Unix()
	if t.Nanosecond() > 0 {
		sec++
	}
	return sec
}

// auditFilter is a parsed audit_logs query. nil sets match anything.
type auditFilter struct {
	types                 []bool
	tenantOnly            bool
	projects              []bool
	actorIDs              bool
	users, keys, accounts []bool
	emails                bool
	emailUsers            []bool
	resources             map[string]struct{}
	scratch               []byte
	hasTypes, hasProjects bool
	lo, hi                int64 // effective_at bounds: lo <= sec < hi
	after, before         int64 // index cursors, -1 when unset
	limit                 int
}

func arrayParam(q url.Values, name string) []string {
	return q[name+"[]"]
}

func (s *Server) parseAuditQuery(w http.ResponseWriter, r *http.Request, count int64) (*auditFilter, bool) {
	q := r.URL.Query()
	f := &auditFilter{lo: math.MinInt64, hi: math.MaxInt64, after: -1, before: -1}
	var ok bool
	if f.limit, ok = parseLimit(w, r); !ok {
		return nil, false
	}
	for _, b := range []struct {
		name string
		add  int64
		lo   bool
	}{{"gt", 1, true}, {"gte", 0, true}, {"lt", 0, false}, {"lte", 1, false}} {
		param := "effective_at[" + b.name + "]"
		v := q.Get(param)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			badRequest(w, "Invalid '"+param+"': expected an integer (Unix seconds), but got '"+v+"' instead.", param, "invalid_type")
			return nil, false
		}
		if b.lo {
			f.lo = max(f.lo, n+b.add)
		} else {
			f.hi = min(f.hi, n+b.add)
		}
	}
	if v := q.Get("tenant_only"); v != "" {
		t, err := strconv.ParseBool(v)
		if err != nil {
			badRequest(w, "Invalid 'tenant_only': expected a boolean, but got '"+v+"' instead.", "tenant_only", "invalid_type")
			return nil, false
		}
		f.tenantOnly = t
	}
	if types := arrayParam(q, "event_types"); len(types) > 0 {
		f.hasTypes = true
		f.types = make([]bool, len(catalog))
		for _, name := range types {
			i, known := catalogIndex[name]
			if f.tenantOnly && (!known || !catalog[i].tenant) {
				badRequest(w, "Invalid 'event_types': with tenant_only=true every event type must be tenant-scoped, but got '"+name+"'.", "event_types", "invalid_value")
				return nil, false
			}
			if known {
				f.types[i] = true
			}
		}
	}
	d := s.dir
	if ids := arrayParam(q, "project_ids"); len(ids) > 0 {
		f.hasProjects = true
		f.projects = make([]bool, len(d.projects))
		for _, id := range ids {
			for i := range d.projects {
				if d.projects[i].id == id {
					f.projects[i] = true
				}
			}
		}
	}
	if ids := arrayParam(q, "actor_ids"); len(ids) > 0 {
		f.actorIDs = true
		f.users, f.keys, f.accounts = make([]bool, len(d.users)), make([]bool, len(d.keys)), make([]bool, len(d.accounts))
		for _, id := range ids {
			for i := range d.users {
				f.users[i] = f.users[i] || d.users[i].id == id
			}
			for i := range d.keys {
				f.keys[i] = f.keys[i] || d.keys[i].id == id
			}
			for i := range d.accounts {
				f.accounts[i] = f.accounts[i] || d.accounts[i].id == id
			}
		}
	}
	if emails := arrayParam(q, "actor_emails"); len(emails) > 0 {
		f.emails = true
		f.emailUsers = make([]bool, len(d.users))
		for _, e := range emails {
			for i := range d.users {
				f.emailUsers[i] = f.emailUsers[i] || d.users[i].email == e
			}
		}
	}
	if ids := arrayParam(q, "resource_ids"); len(ids) > 0 {
		f.resources = make(map[string]struct{}, len(ids))
		for _, id := range ids {
			f.resources[id] = struct{}{}
		}
	}
	for _, c := range []struct {
		name string
		dst  *int64
	}{{"after", &f.after}, {"before", &f.before}} {
		v := q.Get(c.name)
		if v == "" {
			continue
		}
		i, ok := s.decodeAuditID(v, count)
		if !ok {
			badRequest(w, "Invalid '"+c.name+"': no audit log with id '"+v+"' was found.", c.name, "invalid_value")
			return nil, false
		}
		*c.dst = i
	}
	return f, true
}

func (s *Server) match(f *auditFilter, m *meta) bool {
	t := &catalog[m.typ]
	if t.tenant != f.tenantOnly {
		return false
	}
	if f.hasTypes && !f.types[m.typ] {
		return false
	}
	if f.hasProjects && (m.proj < 0 || !f.projects[m.proj]) {
		return false
	}
	if f.actorIDs || f.emails {
		user := -1
		switch m.actor {
		case actorNull:
			return false
		case actorSess:
			user = m.who
			if f.actorIDs && !f.users[m.who] {
				return false
			}
		case actorKey:
			k := &s.dir.keys[m.who]
			user = k.user
			if f.actorIDs && !f.keys[m.who] && (k.user < 0 || !f.users[k.user]) && (k.account < 0 || !f.accounts[k.account]) {
				return false
			}
		}
		if f.emails && (user < 0 || !f.emailUsers[user]) {
			return false
		}
	}
	if f.resources != nil {
		var ok bool
		f.scratch, ok = s.appendResID(f.scratch[:0], m)
		if !ok {
			return false
		}
		if _, hit := f.resources[string(f.scratch)]; !hit {
			return false
		}
	}
	return true
}

func (s *Server) serveAuditLogs(w http.ResponseWriter, r *http.Request) {
	now := s.now().UnixNano()
	count := s.audit.Count(now)
	fault := listFault(w)
	if fault == FaultLoop {
		r = loopPage(w, r)
	}
	f, ok := s.parseAuditQuery(w, r, count)
	if !ok {
		return
	}
	lo, hi := int64(0), count
	if f.lo != math.MinInt64 {
		lo = s.audit.FirstFrom(f.lo, count)
	}
	if f.hi != math.MaxInt64 {
		hi = s.audit.FirstFrom(f.hi, count)
	}
	if f.after >= 0 {
		hi = min(hi, f.after)
	}
	if f.before >= 0 {
		lo = max(lo, f.before+1)
	}

	var idx [101]int64
	var metas [101]meta
	n := 0
	hasMore := false
	take := func(i int64) bool { // false: stop
		m := s.auditMeta(i)
		if !s.visible(m.late, s.audit.Instant(i), now) || !s.match(f, &m) {
			return true
		}
		if n == f.limit {
			hasMore = true
			return false
		}
		idx[n], metas[n] = i, m
		n++
		return true
	}
	if f.before >= 0 && f.after < 0 {
		// The page just newer than the cursor, still served newest first.
		for i := lo; i < hi && take(i); i++ {
		}
		for a, b := 0, n-1; a < b; a, b = a+1, b-1 {
			idx[a], idx[b] = idx[b], idx[a]
			metas[a], metas[b] = metas[b], metas[a]
		}
	} else {
		for i := hi - 1; i >= lo && take(i); i-- {
		}
	}

	if fault == FaultOversize && s.oversizeAudit(w, r, idx[:n], count, f.limit) {
		return
	}
	var first, last string
	if n > 0 {
		first, last = s.EventID(int(idx[0])), s.EventID(int(idx[n-1]))
	}
	if bw, ok := w.(*buffered); ok {
		bw.events = int64(n)
	}
	hasMore = hasMore || fault == FaultLoop
	writeList(w, n, first, last, hasMore, func(w *jw, k int) {
		w.B = s.appendEventMeta(w.B, idx[k], &metas[k])
	}, nil)
}

// oversizeAudit streams an oversize answer built from the page's events
// (see oversizeFrom).
func (s *Server) oversizeAudit(w http.ResponseWriter, r *http.Request, page []int64, count int64, limit int) bool {
	return s.oversizeFrom(w, r, page, count, limit, func(b []byte, i, id int64) []byte {
		m := s.auditMeta(i)
		return s.appendEventAs(b, i, id, &m)
	}, func(i, id int64) string {
		return string(s.appendAuditID(nil, id, s.audit.Second(i)))
	}, nil)
}
