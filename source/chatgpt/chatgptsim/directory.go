package chatgptsim

import (
	"strings"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
)

// The workspace's people, keys, agents and apps, derived from the seed.
// Records refer to them, so the same person shows up across types and
// files, as in a real export.

type user struct{ id, email string }

type agent struct{ id, name, productID string }

type app struct{ id, name, kind, connectorID, action string }

type directory struct {
	users  []user
	keys   []string // redacted ids, the only form the API shows
	agents []agent
	apps   []app
	domain string
}

var people = []struct{ name, email string }{
	{"Ana Souza", "ana.souza"}, {"Kenji Watanabe", "kenji.watanabe"}, {"Zoë Brontë", "zoe.bronte"},
	{"Łukasz Nowak", "lukasz.nowak"}, {"Ngozi Okafor", "ngozi.okafor"}, {"Mehmet Yılmaz", "mehmet.yilmaz"},
	{"Priya Raman", "priya.raman"}, {"Søren Madsen", "soren.madsen"}, {"Chloé Martin", "chloe.martin"},
	{"Diego Hernández", "diego.hernandez"}, {"Yuki Sato", "yuki.sato"}, {"Fatima Zahra", "fatima.zahra"},
	{"Oliver Smith", "oliver.smith"}, {"Mei Lin", "mei.lin"}, {"Hannah Weber", "hannah.weber"}, {"Arjun Mehta", "arjun.mehta"},
}

var agentNames = []string{"Expense helper", "Support digest", "HR policy bot", "Release notes writer"}

var appDefs = []struct{ name, kind, action string }{
	{"Jira", "MCP", "search_issues"}, {"Google Drive", "SERVICE", "search_files"},
	{"GitHub", "MCP", "list_pull_requests"}, {"Salesforce", "SERVICE", "query_records"},
}

func newDirectory(key uint64) directory {
	r := simkit.NewRNG(simkit.Hash(key, 0xd1))
	d := directory{domain: "acme-" + strings.ToLower(string(r.AppendFrom(nil, alnum[:36], 4))) + ".example"}
	for _, p := range people {
		d.users = append(d.users, user{
			id:    "user-" + string(r.AppendFrom(nil, alnum, 20)),
			email: p.email + "@" + d.domain,
		})
	}
	for range 3 {
		d.keys = append(d.keys, "sk-..."+string(r.AppendFrom(nil, alnum, 4)))
	}
	for _, n := range agentNames {
		d.agents = append(d.agents, agent{
			id:        "g-" + string(r.AppendFrom(nil, alnum, 24)),
			name:      n,
			productID: "prod_" + string(r.AppendFrom(nil, alnum, 12)),
		})
	}
	for _, a := range appDefs {
		d.apps = append(d.apps, app{
			id: "asdk_app_" + string(r.AppendFrom(nil, hexLower, 32)), name: a.name, kind: a.kind,
			connectorID: "connector_" + string(r.AppendFrom(nil, hexLower, 32)), action: a.action,
		})
	}
	return d
}

// A place a request comes from. Addresses are from the documentation
// ranges; asn is sometimes "" and sometimes absent, as observed.
type place struct {
	ip                                string // prefix, completed per record
	country, city, region, regionCode string
	asn                               string // "-" = absent
	latitude, longitude               string
}

var places = []place{
	{"203.0.113.", "BR", "São Paulo", "São Paulo", "SP", "AS28573", "-23.5505", "-46.6333"},
	{"198.51.100.", "JP", "東京", "Tokyo", "13", "AS2516", "35.6895", "139.6917"},
	{"192.0.2.", "DE", "Berlin", "Berlin", "BE", "", "52.5200", "13.4050"},
	{"2001:db8:85a3::", "US", "San Francisco", "California", "CA", "AS13335", "37.7749", "-122.4194"},
	{"203.0.113.", "FR", "Paris", "Île-de-France", "IDF", "-", "48.8566", "2.3522"},
	{"198.51.100.", "AE", "Dubai", "Dubai", "DU", "AS5384", "25.2048", "55.2708"},
}

var userAgents = []string{
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"ChatGPT/1.2024.178 (iOS 17.5.1; iPhone15,3; build 1700)",
	"python-requests/2.32.3",
}
