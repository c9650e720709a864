package openaisim

import (
	"fmt"
	"strings"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
)

// The directory: users, projects, service accounts and API keys. It is small
// and built once at New; audit events and request logs only refer to it.

type place struct {
	country, city, region, regionCode, asn, lat, lon string
}

var places = []place{
	{"US", "San Francisco", "California", "CA", "7922", "37.77490", "-122.41940"},
	{"US", "New York", "New York", "NY", "701", "40.71280", "-74.00600"},
	{"US", "Seattle", "Washington", "WA", "16509", "47.60620", "-122.33210"},
	{"GB", "London", "England", "ENG", "2856", "51.50740", "-0.12780"},
	{"DE", "Berlin", "Land Berlin", "BE", "3320", "52.52000", "13.40500"},
	{"FR", "Paris", "Ile-de-France", "IDF", "3215", "48.85660", "2.35220"},
	{"IN", "Bengaluru", "Karnataka", "KA", "24560", "12.97160", "77.59460"},
	{"JP", "Tokyo", "Tokyo", "13", "2516", "35.67620", "139.65030"},
	{"BR", "Sao Paulo", "Sao Paulo", "SP", "28573", "-23.55050", "-46.63330"},
	{"CA", "Toronto", "Ontario", "ON", "812", "43.65320", "-79.38320"},
}

var userAgents = []string{
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 Edg/125.0.0.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
	"Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
}

var firstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Dennis",
	"Radia", "Linus", "Katherine", "John", "Hedy", "Niklaus", "Shafi", "Leslie", "Sophie", "Tim", "Joan", "Bjarne", "Mary", "Guido", "Anita"}
var lastNames = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Ritchie",
	"Perlman", "Torvalds", "Johnson", "McCarthy", "Lamarr", "Wirth", "Goldwasser", "Lamport", "Wilson", "Berners-Lee", "Clarke", "Stroustrup", "Shaw", "Rossum", "Borg"}
var projectNames = []string{"Default project", "Support Copilot", "Search Ranking", "Data Platform", "Mobile App", "Fraud Detection",
	"Marketing Content", "Internal Tools", "Voice Agent", "Analytics", "Docs Assistant", "Code Review Bot"}
var orgDomains = []string{"acme.example", "initech.example", "globex.example", "umbrella.example", "hooli.example"}

type user struct {
	id, name, email, role string
	addedAt               int64
	ip, ua, ja3, ja4      string
	place                 int
}

type project struct {
	id, name, status string
	createdAt        int64
	archivedAt       int64 // 0: not archived
	keys             []int // indexes into directory.keys
	accounts         []int // indexes into directory.accounts
}

type serviceAccount struct {
	id, name, role string
	createdAt      int64
	project        int
}

type apiKey struct {
	id, name, redacted  string
	createdAt, lastUsed int64
	project             int
	user                int // owner user index, or -1
	account             int // owner service account index, or -1
}

type directory struct {
	orgID, orgName, domain string
	users                  []user
	projects               []project
	accounts               []serviceAccount
	keys                   []apiKey
	userKeys               []int // keys owned by users, for api_key actors of type user
}

func newDirectory(seed uint64, nUsers, nProjects int, start int64) *directory {
	r := newRNG(seed ^ 0x6469726563746f72)
	d := &directory{domain: simkit.Pick(&r, orgDomains)}
	d.orgID = idstr("org-", &r, 24)
	d.orgName = strings.ToUpper(d.domain[:1]) + d.domain[1:strings.IndexByte(d.domain, '.')]
	before := func(maxDays int) int64 { return start - int64(r.Between(1, maxDays*86400)) }
	for i := 0; i < nUsers; i++ {
		fn := firstNames[i%len(firstNames)]
		ln := lastNames[(i+i/len(firstNames))%len(lastNames)]
		u := user{
			id:      idstr("user-", &r, 24),
			name:    fn + " " + ln,
			email:   strings.ToLower(fn + "." + strings.ReplaceAll(ln, "-", "")),
			role:    "reader",
			addedAt: before(900),
			place:   r.Intn(len(places)),
			ua:      simkit.Pick(&r, userAgents),
		}
		if i >= len(firstNames) {
			u.email += fmt.Sprint(i / len(firstNames))
		}
		u.email += "@" + d.domain
		if i == 0 || r.Chance(0.2) {
			u.role = "owner"
		}
		u.ip = fmt.Sprintf("%d.%d.%d.%d", simkit.Pick(&r, []int{34, 52, 73, 98, 104, 172, 185, 203}), r.Intn(256), r.Intn(256), r.Between(1, 254))
		u.ja3 = string(appendHex(&r, nil, 32))
		u.ja4 = "t13d" + fmt.Sprintf("%02d%02d", r.Between(10, 19), r.Between(10, 19)) + "h2_" + string(appendHex(&r, nil, 12)) + "_" + string(appendHex(&r, nil, 12))
		d.users = append(d.users, u)
	}
	for i := 0; i < nProjects; i++ {
		p := project{name: projectNames[i%len(projectNames)], status: "active", createdAt: before(700)}
		if i >= len(projectNames) {
			p.name += fmt.Sprint(" ", i/len(projectNames)+1)
		}
		if i == 0 {
			p.id = "proj_default" + string(appendAlnum(&r, nil, 12))
		} else {
			p.id = idstr("proj_", &r, 24)
			if r.Chance(0.15) {
				p.status = "archived"
				p.archivedAt = start - int64(r.Between(1, 30*86400))
			}
		}
		d.projects = append(d.projects, p)
	}
	for pi := range d.projects {
		p := &d.projects[pi]
		nAccounts := r.Between(0, 2)
		if pi == 0 && nAccounts == 0 {
			nAccounts = 1 // at least one service account in the organization
		}
		for n := nAccounts; n > 0; n-- {
			a := serviceAccount{
				id:        idstr("svc_acct_", &r, 24),
				name:      simkit.Pick(&r, []string{"ci-deployer", "batch-worker", "etl-runner", "support-bot", "eval-harness", "slack-integration"}),
				role:      simkit.Pick(&r, []string{"member", "member", "owner"}),
				createdAt: p.createdAt + int64(r.Intn(86400*30)),
				project:   pi,
			}
			p.accounts = append(p.accounts, len(d.accounts))
			d.accounts = append(d.accounts, a)
		}
		for n := r.Between(2, 5); n > 0; n-- {
			k := apiKey{project: pi, user: -1, account: -1, createdAt: p.createdAt + int64(r.Intn(86400*60))}
			k.id = idstr("key_", &r, 16)
			k.redacted = "sk-proj-" + string(appendAlnum(&r, nil, 2)) + "****" + string(appendAlnum(&r, nil, 4))
			k.lastUsed = start - int64(r.Intn(86400*3))
			if len(p.accounts) > 0 && r.Chance(0.4) {
				k.account = simkit.Pick(&r, p.accounts)
				k.name = d.accounts[k.account].name + " key"
			} else if nUsers > 0 {
				k.user = r.Intn(nUsers)
				k.name = simkit.Pick(&r, []string{"laptop", "prod backend", "staging", "notebook", "ci", "local dev"})
				d.userKeys = append(d.userKeys, len(d.keys))
			} else {
				k.name = "orphan"
			}
			p.keys = append(p.keys, len(d.keys))
			d.keys = append(d.keys, k)
		}
	}
	return d
}

func (d *directory) writeUser(w *jw, u *user) { writeUserAs(w, u, "organization.user", u.role) }

// writeUserAs writes u as an object of type object, in role role: the
// organization's user, or a project's (the owner of an API key).
func writeUserAs(w *jw, u *user, object, role string) {
	w.Open()
	w.KStr("object", object)
	w.KStr("id", u.id)
	w.KStr("name", u.name)
	w.KStr("email", u.email)
	w.KStr("role", role)
	w.KInt("added_at", u.addedAt)
	w.Close()
}

func (d *directory) writeProject(w *jw, p *project) {
	w.Open()
	w.KStr("id", p.id)
	w.KStr("object", "organization.project")
	w.KStr("name", p.name)
	w.KInt("created_at", p.createdAt)
	w.Key("archived_at")
	if p.archivedAt != 0 {
		w.Int(p.archivedAt)
	} else {
		w.Null()
	}
	w.KStr("status", p.status)
	w.Close()
}

func (d *directory) writeAccount(w *jw, a *serviceAccount) {
	w.Open()
	w.KStr("object", "organization.project.service_account")
	w.KStr("id", a.id)
	w.KStr("name", a.name)
	w.KStr("role", a.role)
	w.KInt("created_at", a.createdAt)
	w.Close()
}

func (d *directory) writeKey(w *jw, k *apiKey) {
	w.Open()
	w.KStr("object", "organization.project.api_key")
	w.KStr("redacted_value", k.redacted)
	w.KStr("name", k.name)
	w.KInt("created_at", k.createdAt)
	w.KInt("last_used_at", k.lastUsed)
	w.KStr("id", k.id)
	w.Key("owner")
	w.Open()
	switch {
	case k.account >= 0:
		w.tag("service_account")
		d.writeAccount(w, &d.accounts[k.account])
	case k.user >= 0:
		u := &d.users[k.user]
		w.tag("user")
		writeUserAs(w, u, "organization.project.user", pick2(u.role == "owner", "owner", "member"))
	}
	w.Close()
	w.Close()
}

func pick2(c bool, a, b string) string {
	if c {
		return a
	}
	return b
}

// UserIDs returns the ids of the directory's users, in listing order.
func (s *Server) UserIDs() []string {
	out := make([]string, len(s.dir.users))
	for i := range s.dir.users {
		out[i] = s.dir.users[i].id
	}
	return out
}

// ProjectIDs returns the ids of the directory's projects, in listing order
// (archived ones included).
func (s *Server) ProjectIDs() []string {
	out := make([]string, len(s.dir.projects))
	for i := range s.dir.projects {
		out[i] = s.dir.projects[i].id
	}
	return out
}
