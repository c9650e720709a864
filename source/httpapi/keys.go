package httpapi

import (
	"net/url"
	"strings"

	"github.com/auditrelay/auditrelay/pipeline"
)

// The checks of the keys every API source takes besides Retry's. Each
// vendor's config holds the keys with its own documentation and defaults;
// checking them here keeps their messages alike across vendors.

// CheckBaseURL reports base_url unless it is an http(s) URL with a host;
// example, the vendor's API root, shows what is wanted. It returns the
// parsed URL when it is one, for the vendor's own checks of its path.
func CheckBaseURL(baseURL, example string) (*url.URL, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, pipeline.FieldError("base_url", "must be an http(s) URL such as %s", example)
	}
	return u, nil
}

// CheckAPIKey reports api_key when it is empty (want says which key to set
// and how) or holds white space. The message never quotes the key.
func CheckAPIKey(key pipeline.Secret, want string) error {
	switch {
	case key == "":
		return pipeline.FieldError("api_key", "must be set (%s)", want)
	case strings.ContainsAny(key.Value(), " \r\n\t"):
		return pipeline.FieldError("api_key", "contains white space")
	}
	return nil
}

// The values of on_invalid_event: what a record the source cannot index
// does (stop the source at it, or go to the dead-letter sink).
const (
	InvalidStall      = "stall"
	InvalidDeadLetter = "dead_letter"
)

// CheckOnInvalidEvent reports on_invalid_event unless it is one of its
// values.
func CheckOnInvalidEvent(onInvalidEvent string) error {
	if onInvalidEvent != InvalidStall && onInvalidEvent != InvalidDeadLetter {
		return pipeline.FieldError("on_invalid_event", "must be stall or dead_letter, got %q", onInvalidEvent)
	}
	return nil
}

// CheckDeadLetter is the check of on_invalid_event against the pipeline's
// spec: dead_letter needs a dead-letter sink.
func CheckDeadLetter(onInvalidEvent string, spec pipeline.Spec) error {
	if onInvalidEvent == InvalidDeadLetter && spec.DeadLetter == nil {
		return pipeline.FieldError("on_invalid_event", "dead_letter needs a dead_letter section (the sink that takes such events)")
	}
	return nil
}
