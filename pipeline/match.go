package pipeline

import (
	"path"
	"strings"
)

// Match reports whether name (an event type, an e-mail address, a project
// id) matches pattern: the one meaning of a pattern in every component's
// config. '*' matches any run of characters ('.' included: "tenant.*"
// matches "tenant.user.added"; only '/' is not matched, and no event type
// holds one), '?' one character, '[...]' one of a class (path.Match's
// syntax). A malformed pattern matches nothing; ValidPattern tells it when
// the config is loaded.
func Match(pattern, name string) bool {
	// A match begins with the pattern's literal head; most patterns of a
	// list (severity rules, filters) fail there, before path.Match's work.
	i := strings.IndexAny(pattern, `*?[\`)
	if i < 0 {
		return pattern == name
	}
	if !strings.HasPrefix(name, pattern[:i]) {
		return false
	}
	ok, err := path.Match(pattern, name)
	return ok && err == nil
}

// ValidPattern reports whether pattern is well formed for Match.
func ValidPattern(pattern string) error {
	_, err := path.Match(pattern, "")
	return err
}
