package redact

import (
	"bytes"
	"encoding/base64"
	"net/netip"
	"regexp"
	"sort"
	"strings"
)

// hint is a cheap property of a string, computed in one pass, that a
// pattern needs before its regular expression is worth running.
type hint uint16

const (
	hintAt     hint = 1 << iota // '@'
	hintDots                    // three dots between digits
	hintColons                  // "::" or at least six ':'
	hintDigits                  // a run of 13 digits, single spaces or dashes between them
	hintKey                     // an API key prefix (ghp_, AKIA, xoxb- ...)
	hintSK                      // "sk-", an OpenAI key's prefix
	hintBearer                  // "bearer" (any case) or "eyJ"
	hintPEM                     // "-----BEGIN "
	// hintNone is the need of custom patterns: they run on every string.
	hintNone hint = 0x8000
)

// hints computes the hints of s. It must stay a superset: a string a
// pattern matches has that pattern's hint (FuzzHints checks it). One pass
// notes which of the bytes the patterns need occur, counts the digits and
// looks around the bytes that open or close a key prefix, "bearer" or
// "eyJ"; only the strings with digits, dots or colons enough are looked at
// again.
func hints[T ~string | ~[]byte](s T) hint {
	var h hint
	var seen uint8
	digits, context := 0, len(s) >= minBearerLen
	for i := 0; i < len(s); i++ {
		k := classes[s[i]]
		seen |= k
		digits += int(k & classDigit)
		if k == classContext && context {
			h |= contextHint(s, i)
		}
	}
	if seen&classAt != 0 {
		h |= hintAt
	}
	if digits >= 13 && hasCardDigits(s) {
		h |= hintDigits
	}
	if seen&classDot != 0 && digits >= 4 && hasDottedQuad(s) {
		h |= hintDots
	}
	if seen&classColon != 0 && mayHoldIPv6(s) {
		h |= hintColons
	}
	return h
}

// The shortest strings the context patterns match: "bearer x", and
// "xox?-" with ten characters after it (every other key and the PEM
// pattern need more). Shorter strings skip the look at the context.
const (
	minBearerLen = 8
	minKeyLen    = 15
)

// hasHint reports whether s has the hint h of one pattern: hints(s)&h != 0,
// with only what h needs looked at.
func hasHint(s string, h hint) bool {
	switch h {
	case hintAt:
		return strings.IndexByte(s, '@') >= 0
	case hintDots:
		return hasDottedQuad(s)
	case hintColons:
		return mayHoldIPv6(s)
	case hintDigits:
		return hasCardDigits(s)
	}
	return hints(s)&h != 0
}

// The classes of the bytes hints looks at.
const (
	classDigit   = 1 << iota
	classAt      // '@'
	classDot     // '.'
	classColon   // ':'
	classContext // b B J - _ A: in bearer, eyJ, and at the ends of key prefixes
)

var classes = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = classDigit
	}
	t['@'], t['.'], t[':'] = classAt, classDot, classColon
	for _, c := range "bBJ-_A" {
		t[c] = classContext
	}
	return t
}()

// hasCardDigits reports whether s has a run of 13 digits with at most
// single spaces, dashes or dots between them, as a card number has.
func hasCardDigits[T ~string | ~[]byte](s T) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c):
			if run++; run >= 13 {
				return true
			}
		case (c == ' ' || c == '-' || c == '.') && i > 0 && isDigit(s[i-1]) && i+1 < len(s) && isDigit(s[i+1]):
		default:
			run = 0
		}
	}
	return false
}

// hasDottedQuad reports whether s has a stretch of digits and dots with
// three dots between digits, after neither a letter, a digit nor '/', as a
// valid IPv4 match has (see validIPv4): so a version ("Chrome/126.0.0.0")
// is no candidate.
func hasDottedQuad[T ~string | ~[]byte](s T) bool {
	for i := 0; i < len(s); {
		if !isDigit(s[i]) && s[i] != '.' {
			i++
			continue
		}
		after := i == 0 || !isAlnum(s[i-1]) && s[i-1] != '/'
		n := 0
		for ; i < len(s) && (isDigit(s[i]) || s[i] == '.'); i++ {
			if s[i] == '.' && i > 0 && i+1 < len(s) && isDigit(s[i-1]) && isDigit(s[i+1]) {
				n++
			}
		}
		if after && n >= 3 {
			return true
		}
	}
	return false
}

// mayHoldIPv6 reports whether s has "::" or at least six colons: an IPv6
// address netip.ParseAddr accepts has one or the other (8 groups, 6 groups
// and a dotted quad, or "::"), so times ("12:30:05") and the like skip the
// IPv6 expression.
func mayHoldIPv6[T ~string | ~[]byte](s T) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			if i+1 < len(s) && s[i+1] == ':' {
				return true
			}
			n++
		}
	}
	return n >= 6
}

// contextHint looks around s[i], one of b B J - _ A, for "bearer" (any
// case), "eyJ", a key prefix and the opening of a PEM block.
func contextHint[T ~string | ~[]byte](s T, i int) hint {
	switch s[i] {
	case 'b', 'B':
		if i+6 <= len(s) && s[i+1]|0x20 == 'e' && s[i+2]|0x20 == 'a' && s[i+3]|0x20 == 'r' && s[i+4]|0x20 == 'e' && s[i+5]|0x20 == 'r' {
			return hintBearer
		}
		if i+5 <= len(s) && s[i+1]|0x20 == 'a' && s[i+2]|0x20 == 's' && s[i+3]|0x20 == 'i' && s[i+4]|0x20 == 'c' {
			return hintBearer
		}
	case 'J':
		if at(s, i-2, "ey") {
			return hintBearer
		}
	default: // - _ A
		if len(s) < minKeyLen {
			return 0
		}
		h := keyPrefixAt(s, i)
		if at(s, i, "-----BEGIN ") {
			h |= hintPEM
		}
		return h
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

type pattern struct {
	name  string
	need  hint
	re    *regexp.Regexp
	valid func(s string, start, end int) bool // nil: every match counts
	// whole, when set and true for s, says that the expression's only
	// match in s is all of s, so that it need not run: a value that is
	// just an address is the common case (FuzzHints checks it).
	whole func(s string) bool
	// chars, when set, holds every byte a match of re can have.
	chars *byteSet
}

// byteSet is a set of bytes.
type byteSet [256]bool

// bytesOf returns the set of the bytes listed, "a-z" for a range; a '-'
// first stands for itself.
func bytesOf(list string) *byteSet {
	var set byteSet
	for i := 0; i < len(list); i++ {
		if i+2 < len(list) && list[i+1] == '-' {
			for c := int(list[i]); c <= int(list[i+2]); c++ {
				set[c] = true
			}
			i += 2
			continue
		}
		set[list[i]] = true
	}
	return &set
}

// matches appends the matches of p's expression in s to out. A match is
// made of p.chars only and so lies inside one stretch of them; the
// expression runs on each stretch that passes the pattern's pre-check
// rather than on all of s, with the same matches, so that a long text costs
// a pass over its bytes rather than a run of the expression from every
// position. A stretch that is one match (an address in a sentence) needs
// no run.
func (p *pattern) matches(out [][2]int, s string) [][2]int {
	if p.chars == nil {
		for _, m := range p.re.FindAllStringIndex(s, -1) {
			out = append(out, [2]int{m[0], m[1]})
		}
		return out
	}
	for i := 0; i < len(s); {
		if !p.chars[s[i]] {
			i++
			continue
		}
		j := i + 1
		for j < len(s) && p.chars[s[j]] {
			j++
		}
		switch run := s[i:j]; {
		case p.whole != nil && p.whole(run):
			out = append(out, [2]int{i, j})
		case hasHint(run, p.need):
			for _, m := range p.re.FindAllStringIndex(run, -1) {
				out = append(out, [2]int{i + m[0], i + m[1]})
			}
		}
		i = j
	}
	return out
}

var builtins = map[string]pattern{
	"email": {name: "email", need: hintAt, chars: bytesOf("-A-Za-z0-9._%+@\x80-\xff"),
		re:    regexp.MustCompile(`[\p{L}\p{N}._%+\-]+@[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)+`),
		whole: isEmailAddress},
	"ipv4": {name: "ipv4", need: hintDots, chars: bytesOf("0-9."),
		re:    regexp.MustCompile(`(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|0[0-9]{1,2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|0[0-9]{1,2}|[1-9]?[0-9])`),
		valid: validIPv4, whole: isDottedQuad},
	"ipv6": {name: "ipv6", need: hintColons, chars: bytesOf("0-9A-Fa-f:."),
		re:    regexp.MustCompile(`[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*`),
		valid: validIPv6},
	"openai_key": {name: "openai_key", need: hintSK, chars: bytesOf("-A-Za-z0-9_"),
		re: regexp.MustCompile(`sk-[A-Za-z0-9_\-]{20,}`)},
	"api_key": {name: "api_key", need: hintKey, chars: bytesOf("-A-Za-z0-9_"),
		re: regexp.MustCompile(`(?:AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,}|xox[abposr]-[A-Za-z0-9\-]{10,}|AIza[0-9A-Za-z_\-]{35}|[rs]k_(?:live|test)_[0-9A-Za-z]{16,}|glpat-[0-9A-Za-z_\-]{20,}`)},
	"bearer": {name: "bearer", need: hintBearer, chars: bytesOf("-A-Za-z0-9._~+/= \t\xc2\xa0"),
		re:    regexp.MustCompile(`(?i:bearer|basic)(?:[ \t]|\x{00A0})+[A-Za-z0-9\-._~+/]+=*|eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*`),
		valid: validBearer},
	"card": {name: "card", need: hintDigits, chars: bytesOf("- .0-9"),
		re:    regexp.MustCompile(`[0-9](?:[ \-.]?[0-9]){12,18}`),
		valid: validCard},
	"pem": {name: "pem", need: hintPEM,
		re: regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*-----(?s:.*?-----END [A-Z0-9 ]*-----|.*)`)},
}

// BuiltinPatterns lists the names of the built-in patterns, sorted.
func BuiltinPatterns() []string {
	out := make([]string, 0, len(builtins))
	for n := range builtins {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// validIPv4 refuses matches glued to other digits or dots (1.2.3.4.5, a
// longer number) and version numbers after a name ("Chrome/126.0.0.0").
func validIPv4(s string, start, end int) bool {
	if start > 0 {
		c := s[start-1]
		if c >= '0' && c <= '9' || c == '.' || c == '/' || isAlnum(c) {
			return false
		}
	}
	if end < len(s) {
		c := s[end]
		if c >= '0' && c <= '9' || (c == '.' && end+1 < len(s) && s[end+1] >= '0' && s[end+1] <= '9') {
			return false
		}
	}
	return true
}

// isEmailAddress reports whether s is one e-mail address as the email
// expression reads it: a local part of [A-Za-z0-9._%+-], '@', and two or
// more labels of [A-Za-z0-9-] joined by dots.
func isEmailAddress(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 {
		return false
	}
	for i := 0; i < at; i++ {
		if c := s[i]; !isAlnum(c) && !strings.ContainsRune("._%+-", rune(c)) {
			return false
		}
	}
	labels, n := 0, 0 // labels seen, bytes of the current one
	for i := at + 1; i <= len(s); i++ {
		switch {
		case i == len(s) || s[i] == '.':
			if n == 0 {
				return false
			}
			labels, n = labels+1, 0
		case isAlnum(s[i]) || s[i] == '-':
			n++
		default:
			return false
		}
	}
	return labels >= 2
}

// isDottedQuad reports whether s is exactly four decimal octets (0-255,
// no leading zeros) joined by dots.
// validBearer refuses "basic" followed by a word that is not the base64 of
// user:password, so that "basic plan" stays; bearer tokens and JWTs pass.
func validBearer(s string, start, end int) bool {
	m := s[start:end]
	if len(m) < 5 || !strings.EqualFold(m[:5], "basic") {
		return true
	}
	token := strings.TrimLeft(m[5:], " \t\u00a0")
	dec, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		dec, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(token, "="))
	}
	return err == nil && bytes.IndexByte(dec, ':') > 0
}

func isDottedQuad(s string) bool {
	for part := 0; part < 4; part++ {
		if part > 0 {
			if len(s) == 0 || s[0] != '.' {
				return false
			}
			s = s[1:]
		}
		n, v := 0, 0
		for n < len(s) && n < 3 && isDigit(s[n]) {
			v = v*10 + int(s[n]-'0')
			n++
		}
		if n == 0 || v > 255 {
			return false
		}
		s = s[n:]
	}
	return len(s) == 0
}

func validIPv6(s string, start, end int) bool {
	cand := strings.TrimRight(s[start:end], ".")
	if len(cand) < 3 {
		return false
	}
	a, err := netip.ParseAddr(cand)
	return err == nil && a.Is6()
}

func validCard(s string, start, end int) bool {
	// Letters may touch it (a reference glued to a number); a digit or a
	// separator before or after says it is part of a longer number.
	if start > 0 && (isDigit(s[start-1]) || s[start-1] == '.') || end < len(s) && isDigit(s[end]) {
		return false
	}
	var digits []byte
	for i := start; i < end; i++ {
		if s[i] >= '0' && s[i] <= '9' {
			digits = append(digits, s[i]-'0')
		}
	}
	if len(digits) < 13 || len(digits) > 19 {
		return false
	}
	sum := 0
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i])
		if (len(digits)-1-i)%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0 && !inUUID(s, start, end)
}

// uuidLen is the length of a UUID's text: 8-4-4-4-12 hex digits.
const uuidLen = 36

// inUUID reports whether s[start:end] lies inside a UUID. A UUID's groups
// of decimal digits can run to 13 or more with dashes between them and
// pass the Luhn check (one in ten does), and a ChatGPT record's ids are
// UUIDs: its event_id, workspace, conversation and message ids would lose
// their middle to a card marker.
func inUUID(s string, start, end int) bool {
	for k := max(end-uuidLen, 0); k <= start && k+uuidLen <= len(s); k++ {
		if isUUID(s[k:k+uuidLen]) && (k == 0 || !isHex(s[k-1])) && (k+uuidLen == len(s) || !isHex(s[k+uuidLen])) {
			return true
		}
	}
	return false
}

// isUUID reports whether s is 36 bytes of 8-4-4-4-12 hex digits.
func isUUID(s string) bool {
	for i := 0; i < len(s); i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if s[i] != '-' {
				return false
			}
		} else if !isHex(s[i]) {
			return false
		}
	}
	return len(s) == uuidLen
}

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// keyPrefixAt returns hintSK or hintKey when the '-', '_' or 'A' at s[i]
// ends or starts one of the fixed prefixes every key-shaped pattern starts
// with (sk-; xox?-, glpat-, gh?_, github_pat_, ?k_live_, ?k_test_, AKIA,
// ASIA, AIza), 0 otherwise; strings without one skip the key regular
// expressions. It must stay a superset of those patterns' prefixes.
func keyPrefixAt[T ~string | ~[]byte](s T, i int) hint {
	var key bool
	switch s[i] {
	case '-':
		if at(s, i-2, "sk") {
			return hintSK
		}
		key = at(s, i-4, "xox") || at(s, i-5, "glpat")
	case '_':
		key = at(s, i-3, "gh") || at(s, i-5, "_live") || at(s, i-5, "_test") || at(s, i-10, "github_pat")
	default: // 'A'
		key = at(s, i+1, "KIA") || at(s, i+1, "SIA") || at(s, i+1, "Iza")
	}
	if key {
		return hintKey
	}
	return 0
}

// at reports whether s holds lit at offset i.
func at[T ~string | ~[]byte](s T, i int, lit string) bool {
	if i < 0 || i+len(lit) > len(s) {
		return false
	}
	for j := 0; j < len(lit); j++ {
		if s[i+j] != lit[j] {
			return false
		}
	}
	return true
}

// markerRE finds markers this transform wrote; they are never redacted again.
var markerRE = regexp.MustCompile(`\[REDACTED:[a-z0-9_]+(?: len=[0-9]+)?(?: hmac=[0-9a-f]+)?\]`)
