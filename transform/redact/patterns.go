package redact

import (
	"net/netip"
	"regexp"
	"sort"
	"strings"

	"github.com/auditrelay/auditrelay/internal/rawjson"
)

// hint is a cheap property of a string, computed in one pass, that a
// pattern needs before its regular expression is worth running.
type hint uint8

const (
	hintAt     hint = 1 << iota // '@'
	hintDots                    // at least three '.'
	hintColons                  // at least two ':'
	hintDigits                  // at least 13 digits
	hintDash                    // a key prefix (sk-, ghp_, AKIA, -----BEGIN ...)
	hintBearer                  // "earer" or "eyJ"
	hintAny    = hintAt | hintDots | hintColons | hintDigits | hintDash | hintBearer
)

// hintAdd packs, per byte, what hints counts into one word, so that the
// common case costs one table load and one add per byte: digits in bits
// 0-7, dots 8-15, colons 16-23, '@' 24-31, and the bytes that need a look
// at their neighbours in 32-39 (b B J for bearer and JWT) and 40-47 (- _ A
// for key prefixes).
var hintAdd = func() (t [256]uint64) {
	for c := '0'; c <= '9'; c++ {
		t[c] = 1
	}
	t['.'], t[':'], t['@'] = 1<<8, 1<<16, 1<<24
	for _, c := range "bBJ" {
		t[c] = 1 << 32
	}
	for _, c := range "-_A" {
		t[c] = 1 << 40
	}
	return t
}()

// The shortest strings the context patterns match: "bearer x", and
// "xox?-" with ten characters after it (every other key and the PEM
// pattern need more). Shorter strings skip the look at the neighbours.
const (
	minBearerLen = 8
	minKeyLen    = 15
)

// sieveAdd is what the scanner adds up, per byte, for the sieve: eight
// 8-bit counters, each started its threshold below its top bit (sieveStart)
// so that reaching the threshold sets that bit. Strings up to sieveMaxLen
// bytes cannot carry a counter into the next.
var sieveAdd = func() (t [256]uint64) {
	for c := '0'; c <= '9'; c++ {
		t[c] = 1 // 0: digits, 13 for a card
	}
	t['.'] = 1 << 8               // 1: dots, 3 for an IPv4 address
	t[':'] = 1 << 16              // 2: colons, 2 for an IPv6 address
	t['@'] = 1 << 24              // 3: '@'
	t['b'], t['B'] = 1<<32, 1<<32 // 4: the b of bearer
	for _, c := range "-_A" {
		t[c] = 1 << 40 // 5: key prefixes and PEM
	}
	t['J'] = 1 << 48              // 6: the J of eyJ (JWT)
	t['r'], t['R'] = 1<<56, 1<<56 // 7: the two r of bearer
	return t
}()

const (
	sieveTop   = 0x80
	sieveStart = uint64(sieveTop-13) | uint64(sieveTop-3)<<8 | uint64(sieveTop-2)<<16 | uint64(sieveTop-1)<<24 |
		uint64(sieveTop-1)<<32 | uint64(sieveTop-1)<<40 | uint64(sieveTop-1)<<48 | uint64(sieveTop-2)<<56
	// sieveMaxLen is the longest string the sieve judges; longer ones
	// always pass.
	sieveMaxLen = 100
)

// newSieve returns the sieve that hands the raw path the strings a pattern
// of need may match, and the keys named. A string passes when it reaches a
// counter's threshold and is long enough for the patterns that need it:
// 13 digits (card), 3 dots (IPv4), 2 colons (IPv6), an '@' (e-mail), b and
// two r in 8 bytes (bearer), a J in 13 (JWT), one of - _ A in 15 (keys,
// PEM). Every match of a built-in pattern passes (FuzzHints and
// TestSieveSeesEveryMatch check it).
func newSieve(need hint, keys []string) *rawjson.Sieve {
	bit := func(field int) uint64 { return sieveTop << (8 * field) }
	var rules []rawjson.SieveRule
	add := func(h hint, mask uint64, minLen int) {
		if need&h != 0 {
			rules = append(rules, rawjson.SieveRule{Mask: mask, MinLen: minLen})
		}
	}
	add(hintDigits, bit(0), 13)
	add(hintDots, bit(1), 7)
	add(hintColons, bit(2), 3)
	add(hintAt, bit(3), 3)
	add(hintBearer, bit(4)|bit(7), minBearerLen)
	add(hintBearer, bit(6), 13)
	add(hintDash, bit(5), minKeyLen)
	return rawjson.NewSieve(&sieveAdd, sieveStart, sieveMaxLen, keys, rules...)
}

// hints computes the hints of s. It must stay a superset: a string a
// pattern matches has that pattern's hint (FuzzHints checks it).
func hints[T ~string | ~[]byte](s T) hint {
	var digits, dots, colons, ats, bearer, dash uint64
	// The packed 8-bit counters take 255 bytes at most: longer strings
	// are counted a chunk at a time.
	for start := 0; start < len(s); start += 255 {
		var acc uint64
		for i := start; i < min(start+255, len(s)); i++ {
			acc += hintAdd[s[i]]
		}
		digits, dots, colons = digits+acc&0xff, dots+acc>>8&0xff, colons+acc>>16&0xff
		ats, bearer, dash = ats+acc>>24&0xff, bearer+acc>>32&0xff, dash+acc>>40&0xff
	}
	return hintsOf(s, digits, dots, colons, ats, bearer, dash)
}

// sieveHints is hints for a string of at most sieveMaxLen bytes that the
// sieve has already added up (sum, its start value included): the counts
// are the sum's fields, and only the looks at neighbours are left to do.
// FuzzHints holds it to hints.
func sieveHints(s []byte, sum uint64) hint {
	c := sum - sieveStart // no field borrows: each is its start plus a count
	return hintsOf(s, c&0xff, c>>8&0xff, c>>16&0xff, c>>24&0xff, c>>32&0xff+c>>48&0xff, c>>40&0xff)
}

// hintsOf derives the hints of s from its counts of digits, dots, colons,
// '@', the bytes of bearer and JWT openings (b B J) and of key prefixes
// (- _ A).
func hintsOf[T ~string | ~[]byte](s T, digits, dots, colons, ats, bearer, dash uint64) hint {
	var h hint
	if digits >= 13 {
		h |= hintDigits
	}
	if dots >= 3 {
		h |= hintDots
	}
	if colons >= 2 {
		h |= hintColons
	}
	if ats > 0 {
		h |= hintAt
	}
	if bearer > 0 && len(s) >= minBearerLen || dash > 0 && len(s) >= minKeyLen {
		h |= contextHints(s)
	}
	if h&(hintDigits|hintDots|hintColons) == 0 {
		return h
	}
	return refine(s, h)
}

// refine drops the digit and dot hints of strings that only look like
// candidates (ids with many digits, versions): a card number needs a run of
// 13 digits with at most single spaces or dashes between them, a dotted
// quad three dots between digits.
func refine[T ~string | ~[]byte](s T, h hint) hint {
	if h&hintDigits != 0 {
		run, best := 0, 0
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case c >= '0' && c <= '9':
				run++
				best = max(best, run)
			case (c == ' ' || c == '-') && i > 0 && isDigit(s[i-1]) && i+1 < len(s) && isDigit(s[i+1]):
			default:
				run = 0
			}
		}
		if best < 13 {
			h &^= hintDigits
		}
	}
	if h&hintColons != 0 && !mayHoldIPv6(s) {
		h &^= hintColons
	}
	if h&hintDots != 0 {
		n := 0
		for i := 1; i+1 < len(s); i++ {
			if s[i] == '.' && isDigit(s[i-1]) && isDigit(s[i+1]) {
				n++
			}
		}
		if n < 3 {
			h &^= hintDots
		}
	}
	return h
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

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

// contextHints looks for "bearer" (any case), "eyJ" and the key prefixes.
func contextHints[T ~string | ~[]byte](s T) hint {
	var h hint
	for i := 0; i < len(s); i++ {
		if hintAdd[s[i]] < 1<<32 {
			continue
		}
		switch s[i] {
		case 'b', 'B':
			if i+6 <= len(s) && s[i+1]|0x20 == 'e' && s[i+2]|0x20 == 'a' && s[i+3]|0x20 == 'r' && s[i+4]|0x20 == 'e' && s[i+5]|0x20 == 'r' {
				h |= hintBearer
			}
		case 'J':
			if at(s, i-2, "ey") {
				h |= hintBearer
			}
		case '-', '_', 'A':
			if keyPrefixAt(s, i) {
				h |= hintDash
			}
		}
	}
	return h
}

type pattern struct {
	name  string
	need  hint
	re    *regexp.Regexp
	valid func(s string, start, end int) bool // nil: every match counts
	// whole, when set and true for s, says that the expression's only
	// valid match in s is all of s, so that it need not run: a value that
	// is just an address is the common case (FuzzHints checks it).
	whole func(s string) bool
}

var builtins = map[string]pattern{
	"email": {name: "email", need: hintAt,
		re: regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+`)},
	"ipv4": {name: "ipv4", need: hintDots,
		re:    regexp.MustCompile(`(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])`),
		valid: validIPv4, whole: isDottedQuad},
	"ipv6": {name: "ipv6", need: hintColons,
		re:    regexp.MustCompile(`[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*`),
		valid: validIPv6},
	"openai_key": {name: "openai_key", need: hintDash,
		re: regexp.MustCompile(`sk-[A-Za-z0-9_\-]{20,}`)},
	"api_key": {name: "api_key", need: hintDash,
		re: regexp.MustCompile(`(?:AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,}|xox[abposr]-[A-Za-z0-9\-]{10,}|AIza[0-9A-Za-z_\-]{35}|[rs]k_(?:live|test)_[0-9A-Za-z]{16,}|glpat-[0-9A-Za-z_\-]{20,}`)},
	"bearer": {name: "bearer", need: hintBearer,
		re: regexp.MustCompile(`(?i:bearer)[ \t]+[A-Za-z0-9\-._~+/]+=*|eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*`)},
	"card": {name: "card", need: hintDigits,
		re:    regexp.MustCompile(`[0-9](?:[ \-]?[0-9]){12,18}`),
		valid: validCard},
	"pem": {name: "pem", need: hintDash,
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

// isDottedQuad reports whether s is exactly four decimal octets (0-255,
// no leading zeros) joined by dots.
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
		if n == 0 || v > 255 || n > 1 && s[0] == '0' {
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
	if start > 0 && (isAlnum(s[start-1])) || end < len(s) && isAlnum(s[end]) {
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
	return sum%10 == 0
}

// keyPrefixAt reports whether the '-', '_' or 'A' at s[i] ends or starts one
// of the fixed prefixes every key-shaped pattern starts with (sk-, -----,
// xox?-, glpat-, gh?_, github_pat_, ?k_live_, ?k_test_, AKIA, ASIA, AIza);
// strings without one skip the key regular expressions. It must stay a
// superset of those patterns' prefixes.
func keyPrefixAt[T ~string | ~[]byte](s T, i int) bool {
	switch s[i] {
	case '-':
		return at(s, i-2, "sk") || at(s, i+1, "----") || at(s, i-4, "xox") || at(s, i-5, "glpat")
	case '_':
		return at(s, i-3, "gh") || at(s, i-5, "_live") || at(s, i-5, "_test") || at(s, i-10, "github_pat")
	default: // 'A'
		return at(s, i+1, "KIA") || at(s, i+1, "SIA") || at(s, i+1, "Iza")
	}
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
