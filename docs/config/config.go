// Package config holds the configuration reference: a Markdown page per
// component type and an index, README.md, generated from the config structs
// (see internal/configref). The binary embeds them for `auditrelay config
// reference`, which has no source to read at run time. It is not the
// config loader (that is the package config at the repository's root).
package config

import (
	"embed"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Files are the generated pages.
//
//go:embed *.md
var Files embed.FS

// FileName is the name of the page of a component type: kind and type,
// since a type name may serve several kinds (a file source, sink and
// checkpoint store).
func FileName(kind pipeline.Kind, typ string) string {
	return kind.String() + "-" + typ + ".md"
}
