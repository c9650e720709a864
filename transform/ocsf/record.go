package ocsf

import (
	"encoding/json"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/auditrelay/auditrelay/schema/severity"
)

// Version is the OCSF version the output follows (metadata.version).
const Version = "1.8.0"

// The classes used (class_uid). ClassBase is the base event, the generic
// class of the types a mapping does not know: their original stays under
// unmapped (or raw_data).
const (
	ClassBase             = 0
	ClassAccountChange    = 3001
	ClassAuthentication   = 3002
	ClassEntityManagement = 3004
	ClassUserAccess       = 3005
	ClassGroupManagement  = 3006
	ClassAPIActivity      = 6003
)

// The activities (activity_id) the mappings use, by class. 99 (Other) is
// every class's: its activity_name is the vendor's own verb.
const (
	// Account Change
	actCreate, actEnable, actDisable, actDelete = 1, 2, 5, 6
	// Authentication
	actLogon, actLogoff, actPreauth = 1, 2, 6
	// Entity Management and API Activity
	actEMCreate, actRead, actUpdate, actEMDelete          = 1, 2, 3, 4
	actEMEnable, actEMDisable, actActivate, actDeactivate = 8, 9, 10, 11
	// User Access Management
	actAssign, actRevoke = 1, 2
	// Group Management
	actAddUser, actRemoveUser, actGroupDelete, actGroupCreate = 3, 4, 5, 6
	actOther                                                  = 99
)

type classInfo struct {
	name, category string
	activities     map[int]string
}

// classes are the names the schema gives the classes, their categories
// and the activities the mappings use; the tests hold them to the
// published schema (the captions of class_uid, category_uid, activity_id
// and type_uid).
var classes = map[int]classInfo{
	ClassBase: {"Base Event", "Uncategorized", map[int]string{}},
	ClassAccountChange: {"Account Change", "Identity & Access Management",
		map[int]string{actCreate: "Create", actEnable: "Enable", actDisable: "Disable", actDelete: "Delete"}},
	ClassAuthentication: {"Authentication", "Identity & Access Management",
		map[int]string{actLogon: "Logon", actLogoff: "Logoff", actPreauth: "Preauth"}},
	ClassEntityManagement: {"Entity Management", "Identity & Access Management",
		map[int]string{actEMCreate: "Create", actRead: "Read", actUpdate: "Update", actEMDelete: "Delete",
			actEMEnable: "Enable", actEMDisable: "Disable", actActivate: "Activate", actDeactivate: "Deactivate"}},
	ClassUserAccess: {"User Access Management", "Identity & Access Management",
		map[int]string{actAssign: "Assign Privileges", actRevoke: "Revoke Privileges"}},
	ClassGroupManagement: {"Group Management", "Identity & Access Management",
		map[int]string{actAssign: "Assign Privileges", actRevoke: "Revoke Privileges", actAddUser: "Add User",
			actRemoveUser: "Remove User", actGroupDelete: "Delete", actGroupCreate: "Create"}},
	ClassAPIActivity: {"API Activity", "Application Activity",
		map[int]string{actEMCreate: "Create", actRead: "Read", actUpdate: "Update", actEMDelete: "Delete"}},
}

var severityNames = map[int]string{0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical", 6: "Fatal"}

// record is one OCSF event being built.
type record map[string]any

// newRecord starts a record: time in milliseconds, metadata (the event's
// id, the vendor's type as event_code, the log it came from, the product),
// message, success until said otherwise.
func newRecord(ms int64, uid, typ, logName, product, vendor string) record {
	return record{
		"time": ms, "message": typ, "status_id": 1, "status": "Success",
		"metadata": map[string]any{
			"version": Version, "uid": uid, "event_code": typ, "log_name": logName,
			"product": map[string]any{"name": product, "vendor_name": vendor},
		},
	}
}

// class sets the class and activity and what follows from them (category,
// type_uid, the names). An activity the class does not list is Other
// (99), named other (the vendor's verb), as is activity 99 itself.
func (r record) class(class, activity int, other string) {
	c := classes[class]
	name, ok := c.activities[activity]
	if !ok || activity == actOther {
		activity, name = actOther, other
		if name == "" {
			name = "Other"
		}
	}
	r["class_uid"], r["class_name"] = class, c.name
	r["category_uid"], r["category_name"] = class/1000, c.category
	r["activity_id"], r["activity_name"] = activity, name
	// type_name is the caption the schema gives type_uid: "Other" for
	// activity 99, whose own name is in activity_name.
	if activity == actOther {
		name = "Other"
	}
	r["type_uid"], r["type_name"] = class*100+activity, c.name+": "+name
}

// fail marks the record failed, with the vendor's code and detail when it
// gives them.
func (r record) fail(code, detail string) {
	r["status_id"], r["status"] = 2, "Failure"
	if code != "" {
		r["status_code"] = code
	}
	if detail != "" {
		r["status_detail"] = detail
	}
}

// severity sets severity_id and severity from a level of the project's
// scale.
func (r record) severity(l severity.Level) {
	id := l.ID()
	r["severity_id"], r["severity"] = id, severityNames[id]
}

// profile declares a profile the record uses (metadata.profiles).
func (r record) profile(p string) {
	md := r["metadata"].(map[string]any)
	ps, _ := md["profiles"].([]any)
	md["profiles"] = append(ps, p)
}

// cloud sets the cloud profile's object: the vendor as provider, the
// account (an OpenAI project, a ChatGPT workspace, an Anthropic
// organization) when there is one.
func (r record) cloud(provider, accountUID, accountName, accountType string) {
	c := map[string]any{"provider": provider}
	if accountUID != "" || accountName != "" {
		a := map[string]any{"type": accountType}
		setStr(a, "uid", accountUID)
		setStr(a, "name", accountName)
		c["account"] = a
	}
	r["cloud"] = c
	r.profile("cloud")
}

// original keeps the vendor's event: under unmapped (as an object),
// as raw_data (a JSON string) or not at all, as the config says; its
// auditrelay member (what enrich added) stays under unmapped in every
// mode.
func (r record) original(in map[string]any, mode string) {
	if mode == "unmapped" {
		r["unmapped"] = in
	} else if ar, ok := in["auditrelay"]; ok {
		r["unmapped"] = map[string]any{"auditrelay": ar}
	}
	if mode == "raw_data" {
		if b, err := json.Marshal(in); err == nil {
			r["raw_data"] = string(b)
		}
	}
}

// verbActivity is the Entity Management (or API Activity) activity a
// vendor's verb names, Other for the rest; apiOnly keeps it to the
// activities API Activity has (Create, Read, Update, Delete).
func verbActivity(verb string, apiOnly bool) int {
	switch strings.ToLower(verb) {
	case "created", "create", "added", "registered", "sent", "uploaded", "generated", "started", "bound_to_resource", "link":
		return actEMCreate
	case "viewed", "listed", "read", "get", "list", "retrieve", "accessed":
		return actRead
	case "updated", "update", "changed", "toggled", "rotated", "renamed", "write":
		return actUpdate
	case "deleted", "delete", "removed", "archived", "revoked", "unbound_from_resource", "unlink":
		return actEMDelete
	}
	if apiOnly {
		return actOther
	}
	switch strings.ToLower(verb) {
	case "enabled":
		return actEMEnable
	case "disabled":
		return actEMDisable
	case "activated":
		return actActivate
	case "deactivated":
		return actDeactivate
	}
	return actOther
}

// title turns a vendor's verb (re_sent, ACCESS_TOKEN_CREATED) into an
// activity_name (Re Sent, Access Token Created) for activity Other.
func title(s string) string {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r == '_' || r == '.' || r == ' ' })
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}

// lastWord is the part of a vendor's type after its last separator.
func lastWord(typ string, sep byte) string { return typ[strings.LastIndexByte(typ, sep)+1:] }

func setStr(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// emailLike reports whether s can stand as an email_t: a local part, an
// @ and a domain with a dot, none of the characters the schema's pattern
// leaves out.
func emailLike(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || !strings.Contains(s[at+1:], ".") || strings.HasSuffix(s, ".") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-'
		if i < at {
			ok = ok || strings.IndexByte("!#$%&'*+/=?^_`{|}~", c) >= 0
		}
		if !ok && i != at {
			return false
		}
	}
	return true
}

// person is an OCSF user: uid, e-mail (also as name when there is no
// other, so that at least one of uid and name is set), a type; nil when
// neither id nor address is known.
func person(uid, email, kind string) map[string]any {
	if uid == "" && email == "" {
		return nil
	}
	u := map[string]any{}
	setStr(u, "uid", uid)
	if emailLike(email) {
		u["email_addr"] = email
	}
	if uid == "" {
		u["name"] = email
	}
	setStr(u, "type", kind)
	return u
}

// resource sets resources to the one resource an event names, when it
// names one.
func (r record) resource(kind, id, name string) {
	if id == "" && name == "" {
		return
	}
	d := map[string]any{"type": kind}
	setStr(d, "uid", id)
	setStr(d, "name", name)
	r["resources"] = []any{d}
}

// userOr is u, or the stand-in where a class requires a user the event
// does not name.
func userOr(u map[string]any) map[string]any {
	if u == nil {
		return unknownUser()
	}
	return u
}

// unknownUser stands in where a class requires a user the vendor does not
// name.
func unknownUser() map[string]any { return map[string]any{"name": "unknown"} }

// endpoint is a network endpoint from an address, a user agent's place and
// its geography; nil without an address.
func endpoint(ip, country, region, city, lat, long, asn string) map[string]any {
	if ip == "" {
		return nil
	}
	ep := map[string]any{"ip": ip}
	loc := map[string]any{}
	setStr(loc, "country", country)
	setStr(loc, "region", region)
	setStr(loc, "city", city)
	if isNumber(lat, false) && isNumber(long, false) && len(loc) > 0 {
		loc["lat"], loc["long"] = json.Number(lat), json.Number(long)
	}
	if len(loc) > 0 {
		ep["location"] = loc
	}
	if isNumber(asn, true) {
		ep["autonomous_system"] = map[string]any{"number": json.Number(asn)}
	}
	return ep
}

// isNumber reports whether s is a number literal (an integer when whole),
// which a vendor may write as a string and OCSF wants as a number.
func isNumber(s string, whole bool) bool {
	v := jsontext.Value(s)
	return v.IsValid() && v.Kind() == '0' && (!whole || !strings.ContainsAny(s, ".eE"))
}

// standIn is the src_endpoint of an API Activity whose vendor names no
// network source (the class requires one): the client the vendor names,
// else the caller's id, else the actor's kind.
func standIn(client, callerID, kind string) map[string]any {
	switch {
	case client != "":
		return map[string]any{"name": client}
	case callerID != "":
		return map[string]any{"uid": callerID}
	case kind != "":
		return map[string]any{"name": kind}
	}
	return map[string]any{"name": "unknown"}
}
