package config

import (
	"reflect"
	"strings"
)

// closest returns the candidate nearest to s in edit distance, or "" when
// none is near enough to be what a typo of s meant: at most a third of s's
// length apart, and one edit for the shortest words. Ties go to the first
// candidate, so callers pass a sorted list for a stable answer.
func closest(s string, candidates []string) string {
	limit := max(1, len(s)/3)
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, with the swap of
// two adjacent characters counted as one edit, as typing makes it ("nmae"):
// the fewest insertions, deletions, substitutions and swaps that turn a
// into b. Keys and types are ASCII, so bytes are characters.
func editDistance(a, b string) int {
	// Rows i-2, i-1 and i of the table of distances between prefixes.
	back, prev, cur := make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], back[j-2]+1)
			}
		}
		back, prev, cur = prev, cur, back
	}
	return prev[len(b)]
}

// didYouMean returns " (did you mean "x"?)" when one of candidates is
// near s, and "" otherwise.
func didYouMean(s string, candidates []string) string {
	if c := closest(s, candidates); c != "" {
		return ` (did you mean "` + c + `"?)`
	}
	return ""
}

// siblingKeys returns the keys of the section an unknown key sits in, as
// mapstructure names it ("tls.ca_fil", "severity[0].mtch"), for a section
// decoded into a value of type t.
func siblingKeys(t reflect.Type, unknown string) []string {
	parts := strings.Split(unknown, ".")
	for _, part := range parts[:len(parts)-1] {
		name, _, _ := strings.Cut(part, "[")
		f, ok := fieldByKey(t, name)
		if !ok {
			return nil
		}
		t = f.Type
	}
	return keysOf(t)
}

// elem strips pointers, lists and maps off t down to the type of a
// section's value.
func elem(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	return t
}

// keysOf lists the keys of a struct decoded with koanf tags, those of its
// squashed fields included, in field order.
func keysOf(t reflect.Type) []string {
	t = elem(t)
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, squash, skip := FieldKey(f)
		switch {
		case skip:
		case squash:
			out = append(out, keysOf(f.Type)...)
		default:
			out = append(out, name)
		}
	}
	return out
}

// fieldByKey returns the field of struct t (or of its squashed fields)
// decoded from key.
func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	t = elem(t)
	if t.Kind() != reflect.Struct {
		return reflect.StructField{}, false
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, squash, skip := FieldKey(f)
		switch {
		case skip:
		case squash:
			if sf, ok := fieldByKey(f.Type, key); ok {
				return sf, true
			}
		case strings.EqualFold(name, key):
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// FieldKey returns the key of a config struct's field f as the decoder
// reads it: its koanf tag, or its name in lower case; squash when its keys
// are its parent's, skip when it is not decoded. The configuration
// reference is generated with it, so that it names the keys this package
// reads.
func FieldKey(f reflect.StructField) (name string, squash, skip bool) {
	if !f.IsExported() {
		return "", false, true
	}
	name, opts, _ := strings.Cut(f.Tag.Get("koanf"), ",")
	if name == "-" {
		return "", false, true
	}
	if opts == "squash" || (f.Anonymous && name == "") {
		return "", true, false
	}
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name, false, false
}
