// Package configref builds the configuration reference in docs/config from
// the config structs: the keys as package config decodes them (FieldKey,
// from their koanf tags), the types from the Go types, the defaults from
// each factory's default config, and the descriptions from the fields' doc
// comments, read from the Go source with go/parser. A sentence
// "One of: a, b, c." in a comment lists the key's allowed values, which a
// test checks against the component's Validate.
//
// It runs when the reference is generated and in tests, never in the
// binary, which has no source to read: the binary embeds the generated
// files (package docs/config).
package configref
