package pipeline

import (
	"net"
	"net/url"
)

// Warner is the optional interface of a component's Config that is valid
// but works against its user, such as a secret sent in clear: config.Load
// collects the warnings (each a FieldError naming its key), validate prints
// them and run logs them.
type Warner interface {
	Warnings() []error
}

// InClear warns that what (a secret, named for a person: "the admin key")
// goes to rawURL, under key, over plain http: nil for https, for a
// loopback host (a local agent or proxy) and for anything not an http URL
// (Validate reports that).
func InClear(key, rawURL, what string) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "http" || IsLoopback(u.Hostname()) {
		return nil
	}
	return FieldError(key, "%s sends %s in clear: use https://", u.Redacted(), what)
}

// IsLoopback reports whether host (a name or an address) is this machine.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
