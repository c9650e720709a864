package openaisim

import (
	"net/http"
	"strconv"
	"time"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
)

// The request-log API (/v1/organization_logs): one record per API call or
// organization change, rendered on demand like the audit events.

type logKind struct {
	event  string
	weight int
	api    bool
}

var logKinds = []logKind{
	{"chat.completions.create", 40, true},
	{"responses.create", 30, true},
	{"embeddings.create", 15, true},
	{"images.generate", 5, true},
	{"organization.user.created", 3, false},
	{"organization.user.deleted", 2, false},
	{"organization.api_key.created", 3, false},
	{"organization.api_key.deleted", 2, false},
}

var logKindTotal = func() int {
	n := 0
	for _, k := range logKinds {
		n += k.weight
	}
	return n
}()

func pickLogKind(r *simkit.RNG) *logKind {
	x := r.Intn(logKindTotal)
	for i := range logKinds {
		if x < logKinds[i].weight {
			return &logKinds[i]
		}
		x -= logKinds[i].weight
	}
	return &logKinds[0]
}

var chatModels = []string{"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "o3-mini", "gpt-5"}

var systemPrompts = []string{
	"You are a helpful support assistant for an online store. Answer briefly and politely.",
	"You are a senior data engineer. Reply with SQL only, no commentary.",
	"You are a translation engine. Translate the user's text and keep formatting.",
	"You are an internal IT helpdesk bot. Never reveal credentials.",
}

// userPrompts: %E is an e-mail address, %I an IP address, %K an API key.
var userPrompts = []string{
	"Summarize the support ticket from %E about repeated login failures from %I over the weekend.",
	"Why does my key %K return 401 when I call the API from %I? It worked yesterday.",
	"Draft a polite reply to %E confirming that the refund for order 48213 was issued.",
	"Translate into French: The quarterly report is attached; please review the revenue section before Friday.",
	"Write a SQL query that counts active users per day for the last 30 days from the events table.",
	"Classify the sentiment of this review: 'The new dashboard is great but CSV export is painfully slow.'",
	"Our build server %I keeps failing with a TLS error when calling the API with %K. What should we check?",
	"Extract the invoice number, total and due date from: Invoice INV-2291, total 1,240.00 EUR, due 2025-03-31, contact %E.",
}

var replies = []string{
	"Here is a short summary: the customer could not sign in after a password reset; the lockout policy triggered after five attempts. Suggested next step: unlock the account and confirm MFA enrollment.",
	"A 401 usually means the key was revoked, rotated, or belongs to another project. Check the key's project, its permissions, and whether an IP allowlist blocks the caller.",
	"SELECT date_trunc('day', ts) AS day, count(DISTINCT user_id) FROM events WHERE ts > now() - interval '30 days' GROUP BY 1 ORDER BY 1;",
	"Le rapport trimestriel est joint ; veuillez examiner la section sur le chiffre d'affaires avant vendredi.",
	"Sentiment: mixed (positive about the dashboard, negative about export performance).",
}

var logErrors = [][3]string{
	{"invalid_request_error", "context_length_exceeded", "This model's maximum context length is 128000 tokens. However, your messages resulted in 131072 tokens."},
	{"rate_limit_error", "rate_limit_exceeded", "Rate limit reached for gpt-4o on tokens per min (TPM): Limit 30000, Used 29876, Requested 1200."},
	{"invalid_request_error", "model_not_found", "The model 'gpt-4-32k' does not exist or you do not have access to it."},
	{"server_error", "", "The server had an error while processing your request. Sorry about that!"},
}

const logIDPrefix = "log_"

func (s *Server) logRNG(i int64) simkit.RNG { return newRNG(s.key ^ 0x6f72676c6f6773 ^ uint64(i)) }

func (s *Server) logLate(i int64) bool {
	r := s.logRNG(i)
	return r.Next() < s.lateCut
}

func (s *Server) appendLogID(b []byte, i int64) []byte {
	b = append(b, logIDPrefix...)
	return simkit.AppendHex64(b, s.logID.Encode(uint64(i)))
}

func (s *Server) decodeLogID(id string, limit int64) (int64, bool) {
	const n = len(logIDPrefix)
	if len(id) != n+16 || id[:n] != logIDPrefix {
		return 0, false
	}
	x, ok := parseHex64(id[n:])
	if !ok {
		return 0, false
	}
	u := s.logID.Decode(x)
	if u >= uint64(limit) {
		return 0, false
	}
	return int64(u), true
}

// appendLog renders request-log record i.
func (s *Server) appendLog(b []byte, i int64) []byte { return s.appendLogAs(b, i, i) }

// appendLogAs renders request-log record i under the id of index id.
func (s *Server) appendLogAs(b []byte, i, id int64) []byte {
	r := s.logRNG(i)
	r.Next() // the late draw
	k := pickLogKind(&r)
	d := s.dir
	w := jw{simkit.JSON{B: b}}
	w.Open()
	w.Key("id")
	w.B = append(w.B, '"')
	w.B = s.appendLogID(w.B, id)
	w.B = append(w.B, '"')
	w.KStr("object", "organization.log")
	w.KStr("event", k.event)
	w.Key("actor")
	switch x := r.Intn(10); {
	case k.api && x < 8:
		d.writeAnyKey(&w, &r)
	case !k.api && x == 0:
		writeRef(&w, "organization", d.orgID, d.orgName)
	default:
		d.writeAnyUser(&w, &r)
	}
	model := simkit.Pick(&r, chatModels)
	switch k.event {
	case "embeddings.create":
		model = simkit.Pick(&r, []string{"text-embedding-3-small", "text-embedding-3-large"})
	case "images.generate":
		model = simkit.Pick(&r, []string{"gpt-image-1", "dall-e-3"})
	}
	w.Key("target")
	switch {
	case k.api:
		writeRef(&w, "model", model, model)
	case k.event == "organization.api_key.created" || k.event == "organization.api_key.deleted":
		d.writeAnyKey(&w, &r)
	default:
		d.writeAnyUser(&w, &r)
	}
	w.KInt("created_at", s.logs.Second(i))
	success := !k.api || !r.Chance(0.07)
	w.KBool("success", success)
	if k.api {
		s.appendAPIRequest(&w, &r, k, model, success)
	}
	w.Close()
	return w.B
}

// writeRef writes how a request log names its actor or target.
func writeRef(w *jw, typ, id, name string) {
	w.Open()
	w.KStr("type", typ)
	w.KStr("id", id)
	w.KStr("name", name)
	w.Close()
}

// writeAnyKey writes a random API key as a request log's actor or target.
func (d *directory) writeAnyKey(w *jw, r *simkit.RNG) {
	k := &d.keys[r.Intn(len(d.keys))]
	writeRef(w, "api_key", k.id, k.name)
}

// writeAnyUser writes a random user as a request log's actor or target.
func (d *directory) writeAnyUser(w *jw, r *simkit.RNG) {
	u := &d.users[r.Intn(len(d.users))]
	writeRef(w, "user", u.id, u.name)
}

func (s *Server) appendAPIRequest(w *jw, r *simkit.RNG, k *logKind, model string, success bool) {
	promptTrunc := r.Chance(0.05)
	respTrunc := r.Chance(0.05)
	prompt := s.fillPrompt(r, simkit.Pick(r, userPrompts))
	if promptTrunc && len(prompt) > 48 {
		prompt = prompt[:48]
	}
	w.Key("api_request")
	w.Open()
	w.Key("id")
	w.B = append(w.B, `"req_`...)
	w.B = appendHex(r, w.B, 32)
	w.B = append(w.B, '"')
	w.KStr("model", model)
	w.KBool("prompt_truncated", promptTrunc)
	w.KBool("response_body_truncated", respTrunc)
	if k.event == "chat.completions.create" {
		w.Key("messages")
		w.OpenArray()
		w.Open()
		w.KStr("role", "system")
		w.KStr("content", simkit.Pick(r, systemPrompts))
		w.Close()
		w.Open()
		w.KStr("role", "user")
		w.KStr("content", prompt)
		w.Close()
		w.CloseArray()
	} else {
		w.KStr("prompt", prompt)
	}
	e := logErrors[r.Intn(len(logErrors))]
	in := int64(r.Between(20, 3000))
	out := int64(r.Between(5, 1200))
	w.Key("response")
	w.Open()
	if success {
		w.KInt("status", 200)
		switch k.event {
		case "chat.completions.create":
			w.kid("id", "chatcmpl-", r, 29)
			w.KStr("object", "chat.completion")
		case "responses.create":
			w.kid("id", "resp_", r, 40)
			w.KStr("object", "response")
		case "embeddings.create":
			w.KStr("object", "list")
			w.KInt("dimensions", int64(simkit.Pick(r, []int{1536, 3072})))
			out = 0
		case "images.generate":
			w.KStr("object", "image")
			w.KStr("size", simkit.Pick(r, []string{"1024x1024", "1536x1024"}))
			out = 0
		}
		w.Key("usage")
		w.Open()
		w.KInt("input_tokens", in)
		w.KInt("output_tokens", out)
		w.KInt("total_tokens", in+out)
		w.Close()
		if k.event == "chat.completions.create" || k.event == "responses.create" {
			reply := simkit.Pick(r, replies)
			if respTrunc {
				reply = reply[:len(reply)/3]
			}
			w.KStr("output_text", reply)
		}
	} else {
		status := int64(400)
		switch e[0] {
		case "rate_limit_error":
			status = 429
		case "server_error":
			status = 500
		}
		w.KInt("status", status)
	}
	w.Close()
	if !success {
		w.Key("error")
		w.Open()
		w.KStr("type", e[0])
		w.Key("code")
		if e[1] == "" {
			w.Null()
		} else {
			w.Str(e[1])
		}
		w.KStr("message", e[2])
		w.Close()
	}
	w.Close()
}

func (s *Server) fillPrompt(r *simkit.RNG, t string) string {
	b := make([]byte, 0, len(t)+64)
	for i := 0; i < len(t); i++ {
		if t[i] != '%' || i+1 == len(t) {
			b = append(b, t[i])
			continue
		}
		i++
		switch t[i] {
		case 'E':
			if r.Chance(0.5) {
				b = append(b, s.dir.users[r.Intn(len(s.dir.users))].email...)
			} else {
				b = append(b, simkit.Pick(r, []string{"maria.garcia", "j.smith", "chen.wei", "o.okafor"})...)
				b = append(b, '@', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'o', 'r', 'g')
			}
		case 'I':
			b = strconv.AppendInt(b, int64(simkit.Pick(r, []int{10, 172, 192, 81, 203})), 10)
			for j := 0; j < 3; j++ {
				b = append(b, '.')
				b = strconv.AppendInt(b, int64(r.Between(1, 254)), 10)
			}
		case 'K':
			b = append(b, "sk-proj-"...)
			b = appendAlnum(r, b, 48)
		default:
			b = append(b, '%', t[i])
		}
	}
	return string(b)
}

// Log returns the raw JSON of request-log record i (in created_at order),
// whether or not it is visible yet.
func (s *Server) Log(i int) []byte { return s.appendLog(nil, int64(i)) }

// LogID returns the id of request-log record i.
func (s *Server) LogID(i int) string { return string(s.appendLogID(nil, int64(i))) }

// VisibleLogIDs returns the ids of the request-log records with created_at
// before until that are visible now, oldest first.
func (s *Server) VisibleLogIDs(until time.Time) []string {
	now := s.now().UnixNano()
	hi := s.logs.FirstFrom(ceilSeconds(until), s.logs.Count(now))
	var out []string
	for i := int64(0); i < hi; i++ {
		if s.visible(s.logLate(i), s.logs.Instant(i), now) {
			out = append(out, s.LogID(int(i)))
		}
	}
	return out
}

func (s *Server) serveOrgLogs(w http.ResponseWriter, r *http.Request) {
	now := s.now().UnixNano()
	count := s.logs.Count(now)
	limit, ok := parseLimit(w, r)
	if !ok {
		return
	}
	fault := listFault(w)
	if fault == FaultLoop {
		r = loopPage(w, r)
	}
	q := r.URL.Query()
	asc := false
	switch o := q.Get("order"); o {
	case "", "desc":
	case "asc":
		asc = true
	default:
		badRequest(w, "Invalid 'order': expected one of 'asc' or 'desc', but got '"+o+"' instead.", "order", "invalid_value")
		return
	}
	cursor := int64(-1)
	if v := q.Get("after"); v != "" {
		if cursor, ok = s.decodeLogID(v, count); !ok {
			badRequest(w, "Invalid 'after': no organization log with id '"+v+"' was found.", "after", "invalid_value")
			return
		}
	}
	idx := make([]int64, 0, limit)
	hasMore := false
	take := func(i int64) bool {
		if !s.visible(s.logLate(i), s.logs.Instant(i), now) {
			return true
		}
		if len(idx) == limit {
			hasMore = true
			return false
		}
		idx = append(idx, i)
		return true
	}
	if asc {
		for i := cursor + 1; i < count && take(i); i++ {
		}
	} else {
		start := count - 1
		if cursor >= 0 {
			start = cursor - 1
		}
		for i := start; i >= 0 && take(i); i-- {
		}
	}
	if fault == FaultOversize && s.oversizeLogs(w, r, idx, count, limit) {
		return
	}
	var first, last string
	if len(idx) > 0 {
		first, last = s.LogID(int(idx[0])), s.LogID(int(idx[len(idx)-1]))
	}
	if bw, ok := w.(*buffered); ok {
		bw.logs = int64(len(idx))
	}
	hasMore = hasMore || fault == FaultLoop
	writeList(w, len(idx), first, last, hasMore, func(b *jw, k int) {
		b.B = s.appendLog(b.B, idx[k])
	}, func(b *jw) {
		b.Key("after")
		if hasMore && last != "" {
			b.Str(last)
		} else {
			b.Null()
		}
	})
}

func (s *Server) serveOrgLog(w http.ResponseWriter, r *http.Request) {
	now := s.now().UnixNano()
	id := r.PathValue("log_id")
	i, ok := s.decodeLogID(id, s.logs.Count(now))
	if !ok || !s.visible(s.logLate(i), s.logs.Instant(i), now) {
		writeError(w, http.StatusNotFound, "No organization log found with id '"+id+"'.", "invalid_request_error", "log_id", "not_found")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	b := s.appendLog(nil, i)
	if bw, ok := w.(*buffered); ok {
		bw.logs = 1
	}
	w.Write(append(b, '\n')) //nolint:errcheck // the client went away
}

// oversizeLogs streams an oversize answer built from the page's records
// (see oversizeFrom).
func (s *Server) oversizeLogs(w http.ResponseWriter, r *http.Request, page []int64, count int64, limit int) bool {
	return s.oversizeFrom(w, r, page, count, limit, s.appendLogAs, func(_, id int64) string {
		return string(s.appendLogID(nil, id))
	}, func(b *jw, last string) {
		b.Key("after")
		b.Str(last)
	})
}
