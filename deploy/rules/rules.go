// Package rules holds the detection rule packs shipped in the binary:
// default.yaml is the pack the detect transform runs when its config names
// `packs: [default]` (its default). The YAML is the source of truth; this
// package only embeds it, so that a pack works without a file beside the
// binary.
package rules

import (
	"embed"
	"io/fs"
	"slices"
	"strings"
)

//go:embed *.yaml
var packs embed.FS

// Pack returns the YAML of the shipped pack name, and whether there is one.
func Pack(name string) ([]byte, bool) {
	b, err := fs.ReadFile(packs, name+".yaml")
	return b, err == nil
}

// Names lists the shipped packs, sorted.
func Names() []string {
	entries, _ := fs.ReadDir(packs, ".")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	slices.Sort(out)
	return out
}
