package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/auditrelay/auditrelay/config"
	"github.com/auditrelay/auditrelay/sinks/file"
	"github.com/auditrelay/auditrelay/sinks/file/chain"
)

// exitTail is verify's exit code for an archive whose chain and heads hold
// but whose last lines no head signs yet.
const exitTail = 3

const verifyUsage = `[--public-key FILE | -c FILE [--sink NAME]] [FILE...]

Checks an archive written by a file sink with integrity: sha256-chain: every
line against its chain value (FILE.chain beside it), every head's Ed25519
signature, that the heads are consecutive and that the parts (rotated files)
follow each other. FILE... are the archive's files in any order; with -c and
no FILE, the sink's file and its rotated parts. The public key comes from
--public-key (PEM, as 'openssl pkey -pubout' writes it) or from the
signing_key of the config's file sink. Flags come before the files.

Exit codes: 0 intact, every line signed by a head; 1 broken (the first
break is printed with its file and line); 2 a bad command line, config or
key, or a file that cannot be read; 3 intact up to the last head, followed by
lines no head signs yet (a writer still running, or killed before its
commit: its next start removes them and writes their window again).`

func (m *Main) cmdVerify(_ context.Context, args []string) int {
	fs := m.flags("verify", verifyUsage)
	pubPath := fs.String("public-key", "", "the Ed25519 public key in PEM `file`")
	cfgPath := fs.String("c", "", "config `file` whose file sink with integrity gives the key (and the files)")
	sinkName := fs.String("sink", "", "the file sink of -c, when it has several with integrity")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	files := fs.Args()
	var pub ed25519.PublicKey
	switch {
	case *pubPath != "" && *cfgPath != "":
		fmt.Fprintln(m.Stderr, "auditrelay verify: --public-key and -c are exclusive")
		return exitUsage
	case *pubPath != "":
		data, err := os.ReadFile(*pubPath)
		if err == nil {
			pub, err = chain.ParsePublicKey(data)
		}
		if err != nil {
			fmt.Fprintf(m.Stderr, "auditrelay verify: --public-key %s: %v\n", *pubPath, err)
			return exitUsage
		}
	case *cfgPath != "":
		var path string
		var code int
		if pub, path, code = m.verifyKeyOfConfig(*cfgPath, *sinkName); code != 0 {
			return code
		}
		if len(files) == 0 {
			_, parts, err := chain.RotatedParts(path)
			if err != nil {
				fmt.Fprintf(m.Stderr, "auditrelay verify: %v\n", err)
				return exitUsage
			}
			files = parts
			if _, err := os.Stat(path); err == nil || len(parts) == 0 {
				files = append(files, path)
			}
		}
	default:
		fmt.Fprintln(m.Stderr, "auditrelay verify: the key is required: --public-key FILE or -c FILE")
		fs.Usage()
		return exitUsage
	}
	if len(files) == 0 {
		fmt.Fprintln(m.Stderr, "auditrelay verify: no FILE to verify")
		return exitUsage
	}
	res, err := chain.Verify(files, pub)
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay verify: %v\n", err)
		return exitUsage
	}
	return m.reportVerify(res)
}

// verifyKeyOfConfig returns the public key and path of the file sink with
// integrity of the config at path (the one named name, when it has several).
func (m *Main) verifyKeyOfConfig(path, name string) (ed25519.PublicKey, string, int) {
	reg, err := components()
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay verify: %v\n", err)
		return nil, "", exitFailure
	}
	sinks, base, err := config.LoadSinks(path, reg, m.Environ)
	if err != nil {
		fmt.Fprintf(m.Stderr, "auditrelay verify: %s: %v\n", path, err)
		return nil, "", exitUsage
	}
	var names []string
	var found *file.Config
	for _, s := range sinks {
		c, ok := s.Config.(*file.Config)
		if !ok || c.Integrity == "" {
			continue
		}
		names = append(names, s.Name)
		if name == "" || s.Name == name {
			found = c
		}
	}
	switch {
	case name != "" && found == nil:
		fmt.Fprintf(m.Stderr, "auditrelay verify: %s: no file sink %q with integrity (those with it: %s)\n", path, name, strings.Join(names, ", "))
		return nil, "", exitUsage
	case len(names) == 0:
		fmt.Fprintf(m.Stderr, "auditrelay verify: %s: no file sink has integrity: %s\n", path, chain.Name)
		return nil, "", exitUsage
	case name == "" && len(names) > 1:
		fmt.Fprintf(m.Stderr, "auditrelay verify: %s: several file sinks have integrity (%s): name one with --sink\n", path, strings.Join(names, ", "))
		return nil, "", exitUsage
	}
	key, err := chain.ParsePrivateKey([]byte(found.SigningKey.Value()))
	if err != nil { // Validate parsed it already
		fmt.Fprintf(m.Stderr, "auditrelay verify: %s: signing_key: %v\n", path, err)
		return nil, "", exitUsage
	}
	p := found.Path
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	return key.Public().(ed25519.PublicKey), p, 0
}

func (m *Main) reportVerify(res *chain.Result) int {
	var lines int64
	for _, p := range res.Parts {
		fmt.Fprintf(m.Stdout, "%s: part %d, %d lines, %d heads\n", p.File, p.Part, p.Lines, p.Heads)
		lines += p.Lines
	}
	if res.FirstPart > 1 {
		fmt.Fprintf(m.Stdout, "note: the files start at part %d: parts 1 to %d were not given\n", res.FirstPart, res.FirstPart-1)
	}
	if b := res.Break; b != nil {
		fmt.Fprintf(m.Stdout, "BROKEN: %s line %d: %s\n", b.File, b.Line, b.Reason)
		return exitFailure
	}
	if h := res.Last; h != nil {
		fmt.Fprintf(m.Stdout, "the last head: %d (part %d, line %d), source %s, %s, chain %s\n",
			h.Seq, h.Part, h.Lines, h.Source, h.Time.Format("2006-01-02T15:04:05.000Z07:00"), h.Chain)
	}
	if t := res.Tail; t != nil {
		fmt.Fprintf(m.Stdout, "intact up to the last head (%d heads); UNCOMMITTED TAIL: %s lines %d to %d (%d lines) follow it, signed by no head",
			res.Heads, t.File, t.From, t.From+t.Lines-1, t.Lines)
		if t.CutShort {
			fmt.Fprint(m.Stdout, ", the last one cut short")
		}
		if t.Unwritten > 0 {
			fmt.Fprintf(m.Stdout, ", and %d chain values whose lines were never written", t.Unwritten)
		}
		fmt.Fprintln(m.Stdout, ": a writer still running, or one killed before its commit (its next start removes them and writes their window again)")
		return exitTail
	}
	fmt.Fprintf(m.Stdout, "intact: %d lines in %d files, %d heads, consecutive\n", lines, len(res.Parts), res.Heads)
	return exitOK
}
