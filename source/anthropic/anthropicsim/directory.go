package anthropicsim

import (
	"strconv"
	"strings"

	"github.com/auditrelay/auditrelay/source/internal/simkit"
)

// The parent organization's child organizations, people, keys and
// machines, derived from the seed. Activities refer to them, so the same
// person and the same key show up again and again, as in a real feed.

// Organization is a child organization of the parent: the organization_id
// and organization_uuid of its activities.
type Organization struct {
	ID, UUID, Name string
}

type user struct{ id, email, ip, ua string }

type scimDir struct{ id, idp string }

type device struct{ clientID, kidHash string }

type directory struct {
	parentID string
	domain   string
	orgs     []Organization
	users    []user
	apiKeys  []string // api_key_id of api_actor
	admin    []string // admin_api_key_id
	accounts []string // service_account_id
	scim     []scimDir
	devices  []device
}

var peopleNames = []string{
	"ana.souza", "kenji.watanabe", "zoe.bronte", "lukasz.nowak", "ngozi.okafor", "mehmet.yilmaz",
	"priya.raman", "soren.madsen", "chloe.martin", "diego.hernandez", "yuki.sato", "fatima.zahra",
	"oliver.smith", "mei.lin", "hannah.weber", "arjun.mehta", "amara.diallo", "lars.eriksson",
	"sofia.rossi", "tomas.novak", "aisha.khan", "noah.cohen", "ines.ferreira", "kwame.mensah",
}

var orgNames = []string{"Acme Research", "Acme Support", "Acme Engineering", "Acme Legal", "Acme Sales", "Acme Labs"}

// Addresses come from the documentation ranges (RFC 5737, RFC 3849).
var ipPrefixes = []string{"192.0.2.", "198.51.100.", "203.0.113.", "2001:db8:4f1a::"}

var browserAgents = []string{
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
	"Claude/1.0.3 (com.anthropic.claudefordesktop; build 87; macOS 14.5.0) Electron/31.1.0",
	"Claude/1.240624.0 (iPhone; iOS 17.5.1)",
}

var clientAgents = []string{
	"anthropic-python/0.40.0", "anthropic-typescript/0.32.1", "python-requests/2.32.3", "Go-http-client/2.0",
	"claude-cli/1.0.44 (external, cli)", "curl/8.8.0",
}

var idpTypes = []string{"OktaSCIMV2", "AzureSCIMV2.0", "GoogleWorkspace", "JumpCloudSCIMV2"}

func newDirectory(key uint64, orgs, users int) directory {
	r := simkit.NewRNG(simkit.Hash(key, 0xd1))
	id := func(prefix string) string { return prefix + "01" + string(r.AppendFrom(nil, base62, 22)) }
	d := directory{domain: "acme-" + strings.ToLower(string(r.AppendFrom(nil, base62[:36], 4))) + ".example"}
	d.parentID = id("org_")
	for i := range orgs {
		name := orgNames[i%len(orgNames)]
		if i >= len(orgNames) {
			name += " " + string(rune('A'+i/len(orgNames)-1))
		}
		d.orgs = append(d.orgs, Organization{ID: id("org_"), UUID: string(simkit.AppendUUID(nil, r.Next(), r.Next())), Name: name})
	}
	for i := range users {
		local := peopleNames[i%len(peopleNames)]
		if i >= len(peopleNames) {
			local += string(r.AppendFrom([]byte{'.'}, base62[:10], 3))
		}
		p := ipPrefixes[r.Intn(len(ipPrefixes))]
		d.users = append(d.users, user{
			id:    id("user_"),
			email: local + "@" + d.domain,
			ip:    p + strconv.Itoa(r.Between(1, 254)),
			ua:    browserAgents[r.Intn(len(browserAgents))],
		})
	}
	for range 5 {
		d.apiKeys = append(d.apiKeys, id("apikey_"))
	}
	for range 3 {
		d.admin = append(d.admin, id("admin_key_"))
	}
	for range 3 {
		d.accounts = append(d.accounts, id("svc_acct_"))
	}
	for i := range 2 {
		d.scim = append(d.scim, scimDir{id: id("directory_"), idp: idpTypes[i]})
	}
	for range 3 {
		d.devices = append(d.devices, device{
			clientID: "mdm-" + string(simkit.AppendUUID(nil, r.Next(), r.Next())),
			kidHash:  string(r.AppendFrom(nil, hexLower, 64)),
		})
	}
	return d
}
