package ocsf

// The schema facts the tests check a mapped record against are derived
// from the published OCSF release by a committed generator; run it again
// (go generate ./transform/ocsf, with the release beside the checkout)
// when the mapping moves to another release, and change Version with it:
// TestSchemaVersion holds the two together. The classes are those the
// mapping emits, and the base event (0).
//go:generate go run ./internal/schemagen -schema ../../../shared/ocsf-schema-1.8.0 -out testdata/ocsfschema -classes 0,3001,3002,3004,3005,3006,6003
