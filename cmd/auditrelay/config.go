package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"

	configdocs "github.com/auditrelay/auditrelay/docs/config"
	"github.com/auditrelay/auditrelay/pipeline"
)

// The reference in docs/config is generated from the config structs of
// the components this binary is built with (components()), so the
// generator is a test of this package; -update rewrites the files.
//
//go:generate go test -run ^TestConfigReference$ . -args -update

// referenceKinds are the kinds in the order the reference lists them.
var referenceKinds = []pipeline.Kind{pipeline.KindSource, pipeline.KindTransform, pipeline.KindSink, pipeline.KindStore}

const configUsage = `Usage: auditrelay config reference [KIND] [TYPE]

Prints the configuration reference of component type TYPE: every key with
its type, default, allowed values and meaning (docs/config/ in the
repository holds the same pages). Without TYPE, lists the types. A type
that several kinds share (file, kafka) prints each kind's page unless KIND
(source, transform, sink or checkpoint) says which. TYPE index prints the
index: how values are written, the keys every component takes, a sink's
retry and the top-level keys (log, server, shutdown_timeout).
`

// indexPage is the pseudo-type that prints the reference's index.
const indexPage = "index"

func (m *Main) cmdConfig(_ context.Context, args []string) int {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(m.Stderr, configUsage)
		return exitOK
	}
	if len(args) == 0 || args[0] != "reference" || len(args) > 3 {
		fmt.Fprint(m.Stderr, configUsage)
		return exitUsage
	}
	args = args[1:]
	reg, err := components()
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay: %v\n", err)
		return exitFailure
	}
	if len(args) == 0 {
		return m.listReference(reg)
	}
	if len(args) == 1 && args[0] == indexPage {
		page, err := fs.ReadFile(configdocs.Files, "README.md")
		if err != nil {
			fmt.Fprintf(m.Stderr, "auditrelay: %v\n", err)
			return exitFailure
		}
		m.Stdout.Write(page)
		return exitOK
	}
	kinds, typ := referenceKinds, args[len(args)-1]
	if len(args) == 2 {
		kinds = nil
		for _, k := range referenceKinds {
			if k.String() == args[0] {
				kinds = []pipeline.Kind{k}
			}
		}
		if kinds == nil {
			fmt.Fprintf(m.Stderr, "auditrelay: unknown kind %q: source, transform, sink or checkpoint\n", args[0])
			return exitUsage
		}
	}
	var pages [][]byte
	for _, k := range kinds {
		if _, ok := reg.Factory(k, typ); !ok {
			continue
		}
		page, err := fs.ReadFile(configdocs.Files, configdocs.FileName(k, typ))
		if err != nil {
			fmt.Fprintf(m.Stderr, "auditrelay: no reference for %s %s in this build\n", k, typ)
			return exitFailure
		}
		pages = append(pages, page)
	}
	if len(pages) == 0 {
		fmt.Fprintf(m.Stderr, "auditrelay: no component type %q; 'auditrelay config reference' lists them\n", typ)
		return exitUsage
	}
	m.Stdout.Write(bytes.Join(pages, []byte("\n")))
	return exitOK
}

// listReference prints each component type with its kind and the summary
// its page starts with.
func (m *Main) listReference(reg *pipeline.Registry) int {
	width := 0 // of the longest type, so that the summaries line up
	for _, k := range referenceKinds {
		for _, typ := range reg.Types(k) {
			width = max(width, len(typ))
		}
	}
	for _, k := range referenceKinds {
		for _, typ := range reg.Types(k) {
			page, err := fs.ReadFile(configdocs.Files, configdocs.FileName(k, typ))
			if err != nil {
				fmt.Fprintf(m.Stderr, "auditrelay: no reference for %s %s in this build\n", k, typ)
				return exitFailure
			}
			fmt.Fprintf(m.Stdout, "%-10s  %-*s  %s\n", k, width, typ, pageSummary(page))
		}
	}
	fmt.Fprintln(m.Stdout, "\n'auditrelay config reference TYPE' prints the keys of a type, 'auditrelay config reference index'\n"+
		"the keys every component takes, a sink's retry, the top-level keys and how values are written.")
	return exitOK
}

// pageSummary is the third line of a page: the generator writes the
// one-sentence summary there, under the title.
func pageSummary(page []byte) string {
	lines := bytes.SplitN(page, []byte("\n"), 4)
	if len(lines) < 4 {
		return ""
	}
	return string(lines[2])
}
