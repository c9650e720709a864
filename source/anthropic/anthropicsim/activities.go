package anthropicsim

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
)

// meta is what filtering needs to know about activity i; it is cheap to
// compute (a handful of draws) and carries the stream on to the payload.
type meta struct {
	typ   int
	org   int // child organization index; -1: organization_id is null
	actor actorKind
	who   int   // index in the pool of the actor's kind
	late  int64 // nanoseconds after its instant the activity becomes visible
	r     simkit.RNG
}

func (s *Server) meta(i int64) meta {
	r := simkit.NewRNG(simkit.Hash(s.key, 0xac, uint64(i)))
	var m meta
	// The same number of draws whatever the options, so that changing
	// LateFraction does not change the activities themselves.
	isLate, delay := r.Chance(s.opts.LateFraction), r.Float()
	if isLate {
		m.late = max(int64(delay*float64(s.maxLate)), int64(time.Second))
	}
	m.typ = pickType(r.Next())
	t := &catalog[m.typ]
	m.org = r.Intn(len(s.dir.orgs))
	if t.orgless {
		m.org = -1
	}
	m.actor = simkit.Pick(&r, t.actors)
	if r.Chance(unknownActorShare) {
		m.actor = actorUnknown
	}
	m.who = r.Intn(s.dir.pool(m.actor))
	m.r = r
	return m
}

// visible reports whether activity i (of meta m) can be read at now.
func (s *Server) visible(i int64, m *meta, now int64) bool {
	return s.tl.Instant(i)+m.late <= now
}

// idPrefix and the three fixed-width base-62 parts after it make an
// activity id of the API's length: created_at in seconds (6 digits), the
// index plus a seeded offset (8; the offset keeps ids from showing runs of
// zeros) and a keyed check (8). Ids therefore sort as strings in the
// API's order (created_at, then id), a cursor decodes without a lookup,
// and a made-up id is refused.
const (
	idPrefix = "activity_01"
	idLen    = len(idPrefix) + 22
)

const check62 = 62 * 62 * 62 * 62 * 62 * 62 * 62 * 62 // 62^8

func (s *Server) appendID(b []byte, i int64) []byte {
	b = append(b, idPrefix...)
	b = appendBase62(b, uint64(s.tl.Second(i)), 6)
	b = appendBase62(b, uint64(i)+s.idOffset, 8)
	return appendBase62(b, simkit.Hash(s.key, 0x1d, uint64(i))%check62, 8)
}

// decodeID returns the index an id stands for, if it is one of this
// simulator's activities that exists (visible or late) before limit.
func (s *Server) decodeID(id string, limit int64) (int64, bool) {
	if len(id) != idLen || id[:len(idPrefix)] != idPrefix {
		return 0, false
	}
	rest := id[len(idPrefix):]
	sec, ok1 := parseBase62(rest[:6])
	x, ok2 := parseBase62(rest[6:14])
	sum, ok3 := parseBase62(rest[14:])
	x -= s.idOffset // wraps around for x below the offset, beyond any limit
	if !ok1 || !ok2 || !ok3 || x >= uint64(limit) {
		return 0, false
	}
	i := int64(x)
	if sum != simkit.Hash(s.key, 0x1d, x)%check62 || sec != uint64(s.tl.Second(i))%(62*62*62*62*62*62) {
		return 0, false
	}
	return i, true
}

// appendActivity renders activity i, whose meta is m (consumed: its stream
// moves on). secret, when not nil, learns every secret written.
func (s *Server) appendActivity(b []byte, i int64, m *meta, secret func(string)) []byte {
	t := &catalog[m.typ]
	w := simkit.JSON{B: b}
	w.Open()
	w.Key("id")
	w.B = append(w.B, '"')
	w.B = s.appendID(w.B, i)
	w.B = append(w.B, '"')
	w.Key("created_at")
	w.B = append(w.B, '"')
	w.B = time.Unix(s.tl.Second(i), 0).UTC().AppendFormat(w.B, time.RFC3339)
	w.B = append(w.B, '"')
	if m.org < 0 {
		w.KNull("organization_id")
		w.KNull("organization_uuid")
	} else {
		o := &s.dir.orgs[m.org]
		w.KStr("organization_id", o.ID)
		w.KStr("organization_uuid", o.UUID)
	}
	s.writeActor(&w, &m.r, m.actor, m.who)
	w.KStr("type", t.name)
	c := ctx{w: &w, r: &m.r, s: s, m: m, secret: secret}
	for _, g := range t.members {
		g(&c)
	}
	w.Close()
	return w.B
}

// query is a parsed list request.
type query struct {
	types      []bool // by catalog index; nil: any type
	users      []bool // by directory user; nil: any actor
	orgs       []bool // by child organization; nil: any organization
	lo, hi     int64  // created_at bounds in Unix seconds, inclusive
	after      int64  // index of after_id, -1 when absent
	before     int64  // index of before_id, -1 when absent
	limit      int
	asc        bool
	cursorName string // after_id or before_id, whichever was given
}

// badRequest answers 400 with Anthropic's error body.
func badRequest(w http.ResponseWriter, msg string) {
	writeError(w, http.StatusBadRequest, "invalid_request_error", msg)
}

// parseQuery reads the query parameters of GET /v1/compliance/activities,
// answering 400 (and returning false) at the first that does not do.
// count is the number of activities that exist: a cursor must name one.
func (s *Server) parseQuery(w http.ResponseWriter, v url.Values, count int64) (*query, bool) {
	q := &query{lo: minSecond, hi: maxSecond, after: -1, before: -1, limit: 100}
	inc, exc := v["activity_types[]"], v["exclude_activity_types[]"]
	if len(inc) > 0 && len(exc) > 0 {
		badRequest(w, "Cannot specify both `activity_types[]` and `exclude_activity_types[]`.")
		return nil, false
	}
	if names := slices.Concat(inc, exc); len(names) > 0 {
		// An unknown name matches nothing (and excludes nothing): the API
		// grows new types all the time.
		q.types = make([]bool, len(catalog))
		for i := range q.types {
			q.types[i] = len(exc) > 0
		}
		for _, n := range names {
			if i, ok := catalogIndex[n]; ok {
				q.types[i] = len(inc) > 0
			}
		}
	}
	// user_ids[] is an alias of actor_ids[]; both lists count.
	if ids := slices.Concat(v["actor_ids[]"], v["user_ids[]"]); len(ids) > 0 {
		q.users = make([]bool, len(s.dir.users))
		for _, id := range ids {
			for i := range s.dir.users {
				q.users[i] = q.users[i] || s.dir.users[i].id == id
			}
		}
	}
	if ids := v["organization_ids[]"]; len(ids) > 0 {
		q.orgs = make([]bool, len(s.dir.orgs))
		for _, id := range ids {
			for i, o := range s.dir.orgs {
				q.orgs[i] = q.orgs[i] || o.ID == id || o.UUID == id
			}
		}
	}
	// created_at is written in whole seconds; a bound of any precision
	// becomes the first or last whole second it admits.
	for _, b := range []struct {
		name string
		lo   bool
		sec  func(t time.Time) int64
	}{
		{"created_at.gte", true, ceilSecond},
		{"created_at.gt", true, func(t time.Time) int64 { return t.Unix() + 1 }},
		{"created_at.lte", false, func(t time.Time) int64 { return t.Unix() }},
		{"created_at.lt", false, func(t time.Time) int64 { return ceilSecond(t) - 1 }},
	} {
		raw, ok := v[b.name]
		if !ok {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, raw[0])
		if err != nil {
			badRequest(w, "The `"+b.name+"` parameter contains an invalid timestamp format. Expected an RFC 3339 timestamp such as 2024-01-01T00:00:00Z. Got "+strconv.Quote(raw[0])+".")
			return nil, false
		}
		if sec := min(max(b.sec(t), minSecond), maxSecond); b.lo {
			q.lo = max(q.lo, sec)
		} else {
			q.hi = min(q.hi, sec)
		}
	}
	a, aok := v["after_id"]
	bf, bok := v["before_id"]
	if aok && bok {
		badRequest(w, "Cannot specify both `after_id` and `before_id`.")
		return nil, false
	}
	for _, c := range []struct {
		name string
		vals []string
		dst  *int64
	}{{"after_id", a, &q.after}, {"before_id", bf, &q.before}} {
		if c.vals == nil {
			continue
		}
		i, ok := s.decodeID(c.vals[0], count)
		if !ok {
			badRequest(w, "Invalid `"+c.name+"`. No activity found for `"+c.name+"` "+strconv.Quote(c.vals[0]))
			return nil, false
		}
		*c.dst, q.cursorName = i, c.name
	}
	if raw, ok := v["limit"]; ok {
		n, err := strconv.Atoi(raw[0])
		if err != nil || n < 1 || n > MaxLimit {
			badRequest(w, "The `limit` parameter must be an integer between 1 and "+strconv.Itoa(MaxLimit)+". Got "+strconv.Quote(raw[0])+".")
			return nil, false
		}
		q.limit = n
	}
	switch o := v.Get("order"); o {
	case "", "desc":
	case "asc":
		q.asc = true
	default:
		badRequest(w, "The `order` parameter must be `asc` or `desc`. Got "+strconv.Quote(o)+".")
		return nil, false
	}
	return q, true
}

// The range a created_at bound is clamped to: far beyond any activity,
// near enough that no arithmetic on it overflows.
const (
	minSecond = -1 << 40
	maxSecond = 1 << 40
)

// ceilSecond is the smallest whole second at or after t.
func ceilSecond(t time.Time) int64 {
	if t.Nanosecond() > 0 {
		return t.Unix() + 1
	}
	return t.Unix()
}

func (s *Server) match(q *query, m *meta) bool {
	if q.types != nil && !q.types[m.typ] {
		return false
	}
	if q.orgs != nil && (m.org < 0 || !q.orgs[m.org]) {
		return false
	}
	if q.users != nil {
		if u := actorUserIndex(m); u < 0 || !q.users[u] {
			return false
		}
	}
	return true
}

// page walks the activities of q and returns the page's indexes, in the
// order they are served, their metas, and whether more match beyond them.
//
// The API's order is the index order, newest first by default. after_id
// continues in that order past the cursor; before_id takes the limit
// activities nearest the cursor on the other side, served in the order
// asked for, has_more then saying whether more lie beyond them (a reader
// going forward in time uses first_id as its next before_id). n is how
// many to take: q.limit, or one less when a repeat fault puts the cursor
// in front.
func (s *Server) page(q *query, n int, now, count int64) ([]int64, []meta, bool) {
	lo, hi := s.tl.FirstFrom(q.lo, count), s.tl.FirstFrom(q.hi+1, count)
	up := q.asc // the walk's direction, from lo up or from hi down
	switch {
	case q.after >= 0 && q.asc:
		lo = max(lo, q.after+1)
	case q.after >= 0:
		hi = min(hi, q.after)
	case q.before >= 0 && q.asc:
		hi, up = min(hi, q.before), false
	case q.before >= 0:
		lo, up = max(lo, q.before+1), true
	}
	var idx []int64
	var metas []meta
	more := false
	take := func(i int64) bool { // false: stop
		m := s.meta(i)
		if !s.visible(i, &m, now) || !s.match(q, &m) {
			return true
		}
		if len(idx) == n {
			more = true
			return false
		}
		idx, metas = append(idx, i), append(metas, m)
		return true
	}
	if up {
		for i := lo; i < hi && take(i); i++ {
		}
	} else {
		for i := hi - 1; i >= lo && take(i); i-- {
		}
	}
	if q.before >= 0 { // walked away from the cursor; serve in the order asked
		for a, b := 0, len(idx)-1; a < b; a, b = a+1, b-1 {
			idx[a], idx[b] = idx[b], idx[a]
			metas[a], metas[b] = metas[b], metas[a]
		}
	}
	return idx, metas, more
}

// serveActivities answers GET /v1/compliance/activities. kind is the fault
// drawn for the request (truncated and repeat are carried out here).
func (s *Server) serveActivities(w http.ResponseWriter, r *http.Request, kind FaultKind) {
	now := s.now().UnixNano()
	count := s.tl.Count(now)
	q, ok := s.parseQuery(w, r.URL.Query(), count)
	if !ok {
		return
	}
	cursor := max(q.after, q.before)
	repeat := kind == FaultRepeat && cursor >= 0
	var cm meta
	if repeat {
		cm = s.meta(cursor)
		repeat = s.visible(cursor, &cm, now)
	}
	n := q.limit
	if repeat {
		n--
	}
	idx, metas, more := s.page(q, n, now, count)
	if repeat { // the cursor's activity again, where it stands in the order
		if q.after >= 0 {
			idx, metas = append([]int64{cursor}, idx...), append([]meta{cm}, metas...)
		} else {
			idx, metas = append(idx, cursor), append(metas, cm)
		}
		s.count(func(st *Stats) { st.Faults[FaultRepeat]++ })
	}
	b := simkit.JSON{B: make([]byte, 0, 256+len(idx)*700)}
	b.Open()
	b.Key("data")
	b.OpenArray()
	for k := range idx {
		b.Sep()
		b.B = s.appendActivity(b.B, idx[k], &metas[k], nil)
	}
	b.CloseArray()
	b.KBool("has_more", more)
	for _, end := range []struct {
		name string
		k    int
	}{{"first_id", 0}, {"last_id", len(idx) - 1}} {
		b.Key(end.name)
		if len(idx) == 0 {
			b.Null()
			continue
		}
		b.B = append(b.B, '"')
		b.B = s.appendID(b.B, idx[end.k])
		b.B = append(b.B, '"')
	}
	b.Close()
	b.B = append(b.B, '\n')
	body := b.B
	if kind == FaultTruncated {
		body = body[:len(body)/2]
		s.count(func(st *Stats) { st.Faults[FaultTruncated]++ })
	} else {
		s.count(func(st *Stats) {
			st.Pages++
			st.Activities += int64(len(idx))
		})
	}
	simkit.WriteBody(w, http.StatusOK, "application/json", body)
}
