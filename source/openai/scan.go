package openai

import (
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// The source reads a few routing fields (id, type, effective_at, project,
// actor) of every event. encoding/json would decode each event a second
// time after the page was decoded; this scanner walks the already validated
// bytes once, skipping everything it does not need. It must agree with
// encoding/json on every valid input (FuzzScanAuditIndex checks that) and
// never panic on an invalid one.

var errScan = errors.New("malformed JSON")

type jscan struct {
	b []byte
	i int
}

func (s *jscan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *jscan) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// str reads a string; escaped strings are handed to encoding/json.
func (s *jscan) str() (string, error) {
	if s.peek() != '"' {
		return "", errScan
	}
	start := s.i
	s.i++
	escaped, nonASCII := false, false
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '\\':
			escaped = true
			s.i += 2
			continue
		case c == '"':
			s.i++
			if !escaped && (!nonASCII || utf8.Valid(s.b[start+1:s.i-1])) {
				return string(s.b[start+1 : s.i-1]), nil
			}
			// Escapes and invalid UTF-8 (which encoding/json replaces
			// with U+FFFD) take the reference path.
			var out string
			if err := json.Unmarshal(s.b[start:s.i], &out); err != nil {
				return "", err
			}
			return out, nil
		case c < 0x20:
			return "", errScan
		case c >= 0x80:
			nonASCII = true
		}
		s.i++
	}
	return "", errScan
}

// skip skips one value of any kind.
func (s *jscan) skip() error {
	switch s.peek() {
	case '"':
		_, err := s.skipStr()
		return err
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if _, err := s.skipStr(); err != nil {
					return err
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return nil
				}
			}
			s.i++
		}
		return errScan
	case 0:
		return errScan
	default: // number, true, false, null
		start := s.i
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				if s.i == start {
					return errScan
				}
				return nil
			}
			s.i++
		}
		return errScan
	}
}

func (s *jscan) skipStr() (int, error) {
	start := s.i
	s.i++
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			s.i += 2
			continue
		case '"':
			s.i++
			return start, nil
		}
		s.i++
	}
	return 0, errScan
}

// literal reads a number/true/false/null token.
func (s *jscan) literal() ([]byte, error) {
	s.ws()
	start := s.i
	if err := s.skip(); err != nil {
		return nil, err
	}
	return s.b[start:s.i], nil
}

// object calls field for each key; field must consume the value. A null
// instead of an object is accepted and yields no keys.
func (s *jscan) object(field func(key string) error) error {
	switch s.peek() {
	case 'n':
		_, err := s.literal()
		return err
	case '{':
	default:
		return s.skip() // not an object: ignore, as json does for a typed mismatch we tolerate
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		key, err := s.str()
		if err != nil {
			return err
		}
		if s.peek() != ':' {
			return errScan
		}
		s.i++
		if err := field(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return errScan
		}
	}
}

// strField reads a string value into dst (null leaves dst). A value of
// another kind is skipped: the routing fields are optional, and a change of
// shape in one of them must not make events unreadable.
func (s *jscan) strField(dst *string) error {
	switch s.peek() {
	case '"':
		v, err := s.str()
		*dst = v
		return err
	case 'n':
		_, err := s.literal()
		return err
	}
	return s.skip()
}

// reqStrField is strField for a required field: another kind is an error.
func (s *jscan) reqStrField(dst *string) error {
	switch s.peek() {
	case '"', 'n':
		return s.strField(dst)
	}
	return errScan
}

func (s *jscan) user(dst **userRef) error {
	if s.peek() == 'n' {
		_, err := s.literal()
		*dst = nil
		return err
	}
	if *dst == nil {
		*dst = &userRef{}
	}
	u := *dst
	return s.object(func(k string) error {
		switch k {
		case "id":
			return s.strField(&u.ID)
		case "email":
			return s.strField(&u.Email)
		}
		return s.skip()
	})
}

// scanAuditIndex fills ix from an audit log object.
func scanAuditIndex(raw []byte, ix *auditIndex) error {
	s := &jscan{b: raw}
	if s.peek() != '{' {
		return errScan
	}
	err := s.object(func(key string) error {
		switch key {
		case "id":
			return s.reqStrField(&ix.ID)
		case "type":
			return s.reqStrField(&ix.Type)
		case "effective_at":
			lit, err := s.literal()
			if err != nil {
				return err
			}
			if string(lit) == "null" {
				ix.EffectiveAt = nil
				return nil
			}
			if lit[0] != '-' && (lit[0] < '0' || lit[0] > '9') {
				return errScan // a string or an object: let encoding/json decide
			}
			f, err := strconv.ParseFloat(string(lit), 64)
			if err != nil {
				return errScan
			}
			ix.EffectiveAt = &f
			return nil
		case "project":
			if s.peek() == 'n' {
				ix.Project = nil
				_, err := s.literal()
				return err
			}
			if ix.Project == nil {
				ix.Project = &struct {
					ID string `json:"id"`
				}{}
			}
			return s.object(func(k string) error {
				if k == "id" {
					return s.strField(&ix.Project.ID)
				}
				return s.skip()
			})
		case "actor":
			if s.peek() == 'n' {
				ix.Actor = nil
				_, err := s.literal()
				return err
			}
			if ix.Actor == nil {
				ix.Actor = &actorIndex{}
			}
			a := ix.Actor
			return s.object(func(k string) error {
				switch k {
				case "type":
					return s.strField(&a.Type)
				case "session":
					if s.peek() == 'n' {
						a.Session = nil
						_, err := s.literal()
						return err
					}
					if a.Session == nil {
						a.Session = &sessionIndex{}
					}
					return s.object(func(k string) error {
						if k == "user" {
							return s.user(&a.Session.User)
						}
						return s.skip()
					})
				case "api_key":
					if s.peek() == 'n' {
						a.APIKey = nil
						_, err := s.literal()
						return err
					}
					if a.APIKey == nil {
						a.APIKey = &apiKeyIndex{}
					}
					k2 := a.APIKey
					return s.object(func(k string) error {
						switch k {
						case "id":
							return s.strField(&k2.ID)
						case "user":
							return s.user(&k2.User)
						case "service_account":
							if s.peek() == 'n' {
								k2.ServiceAccount = nil
								_, err := s.literal()
								return err
							}
							if k2.ServiceAccount == nil {
								k2.ServiceAccount = &struct {
									ID string `json:"id"`
								}{}
							}
							return s.object(func(k string) error {
								if k == "id" {
									return s.strField(&k2.ServiceAccount.ID)
								}
								return s.skip()
							})
						}
						return s.skip()
					})
				}
				return s.skip()
			})
		}
		return s.skip()
	})
	if err != nil {
		return err
	}
	if s.peek() != 0 {
		return errScan
	}
	return nil
}
