package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/sinks/file/chain"
	"github.com/auditrelay/auditrelay/source/openai/openaisim"
	"github.com/auditrelay/auditrelay/source/openai/openaisim/openaisimtest"
)

// writeKeys writes an Ed25519 key pair in PEM to dir and returns the
// private key's PEM body (to look for in outputs) and the public key's path.
func writeKeys(t *testing.T, dir string) (body, pubPath string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	privPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	writeFile(t, dir, "signing.pem", string(privPEM))
	pder, _ := x509.MarshalPKIXPublicKey(pub)
	pubPath = writeFile(t, dir, "public.pem", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder})))
	return strings.Split(string(privPEM), "\n")[1], pubPath
}

func runMain(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb, Environ: env}
	code = m.Run(context.Background(), args)
	return out.String(), errb.String(), code
}

// TestVerifyAnArchiveTheRunWrote: `run` writes an archive with integrity
// (rotated into parts), `verify` finds it intact from the config alone or
// from the public key, tells an uncommitted tail (exit 3) from a changed
// byte (exit 1, with the file and line), and refuses a bad command line
// (exit 2); the signing key is shown nowhere.
func TestVerifyAnArchiveTheRunWrote(t *testing.T) {
	_, base := openaisimtest.Start(t, openaisim.Options{Seed: 7, Events: 3000, Span: 48 * time.Hour, APIKey: "sk-admin-verify"})
	dir := t.TempDir()
	keyBody, pubPath := writeKeys(t, dir)
	cfg := writeFile(t, dir, "auditrelay.yaml", acmeYAML(base, "72h", 500)+`    batch_size: 100
sinks:
  - name: archive
    type: file
    path: out/audit.jsonl
    integrity: sha256-chain
    signing_key: ${file:signing.pem}
    rotate_bytes: 300000
checkpoint:
  type: file
  dir: state
log:
  level: warn
`)
	env := []string{"OPENAI_ADMIN_KEY=sk-admin-verify"}
	if _, stderr, code := runMain(t, env, "run", "-c", cfg, "--once"); code != 0 {
		t.Fatalf("run exited %d:\n%s", code, stderr)
	}
	out, _, code := runMain(t, env, "validate", "-c", cfg)
	if code != 0 || strings.Contains(out, keyBody) || !regexp.MustCompile(`signing_key: .?\[redacted\]`).MatchString(out) {
		t.Fatalf("validate (%d) shows the key or no mask:\n%s", code, out)
	}

	// From the config alone: no source secret is needed.
	out, stderr, code := runMain(t, nil, "verify", "-c", cfg)
	if code != 0 || !strings.Contains(out, "intact: ") {
		t.Fatalf("verify -c exited %d:\n%s%s", code, out, stderr)
	}
	parts := regexp.MustCompile(`(?m)^.*: part \d+, \d+ lines`).FindAllString(out, -1)
	if len(parts) < 3 {
		t.Fatalf("%d parts, want the archive rotated at least twice:\n%s", len(parts), out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "out", "*.jsonl"))
	out, stderr, code = runMain(t, nil, append([]string{"verify", "--public-key", pubPath}, files...)...)
	if code != 0 || !strings.Contains(out, "intact: ") {
		t.Fatalf("verify --public-key exited %d:\n%s%s", code, out, stderr)
	}

	// A line written after the last head, with its chain value, as a crash
	// before the window's commit leaves it: an uncommitted tail. The last
	// head is the active part's, or, when the last commit rotated the
	// archive (the active part is empty then), the last rotated part's.
	activeData := filepath.Join(dir, "out", "audit.jsonl")
	active := activeData + chain.SidecarSuffix
	pub, err := chain.ParsePublicKey([]byte(readForVerify(t, pubPath)))
	if err != nil {
		t.Fatal(err)
	}
	last, _, ok, err := chain.LastHead(active, pub)
	if err == nil && !ok {
		_, rotated, _ := chain.RotatedParts(activeData)
		last, _, ok, err = chain.LastHead(rotated[len(rotated)-1]+chain.SidecarSuffix, pub)
	}
	if err != nil || !ok {
		t.Fatalf("no last head (%v)", err)
	}
	prev, err := chain.ParseValue([]byte(last.Chain))
	if err != nil {
		t.Fatal(err)
	}
	data, side := readForVerify(t, activeData), readForVerify(t, active)
	tail := []byte(`{"id":"written, never committed"}`)
	os.WriteFile(activeData, append([]byte(data), append(tail, '\n')...), 0o600)
	os.WriteFile(active, []byte(side+chain.Next(prev, tail).String()+"\n"), 0o600)
	out, _, code = runMain(t, nil, "verify", "-c", cfg)
	if code != exitTail || !strings.Contains(out, "UNCOMMITTED TAIL: ") {
		t.Fatalf("verify of an archive with an unsigned tail exited %d, want %d:\n%s", code, exitTail, out)
	}
	os.WriteFile(activeData, []byte(data), 0o600)
	os.WriteFile(active, []byte(side), 0o600)

	// A changed byte in the second part.
	p2 := chain.PartPath(filepath.Join(dir, "out", "audit.jsonl"), 2)
	raw, _ := os.ReadFile(p2)
	at := bytes.IndexByte(raw[len(raw)/2:], '\n') + len(raw)/2 + 5 // inside a line
	line := int64(bytes.Count(raw[:at], []byte("\n")) + 1)
	raw[at] ^= 0x01
	os.WriteFile(p2, raw, 0o600)
	out, _, code = runMain(t, nil, "verify", "-c", cfg)
	if want := regexp.MustCompile(`BROKEN: .*audit\.000002\.jsonl line (\d+): the line does not match`); code != exitFailure || !want.MatchString(out) ||
		want.FindStringSubmatch(out)[1] != strconv.FormatInt(line, 10) {
		t.Fatalf("verify of a changed byte on line %d of part 2 exited %d:\n%s", line, code, out)
	}

	// A signing key that is not one: the key is named, its value is not.
	bad := strings.Replace(readForVerify(t, cfg), "${file:signing.pem}", "${file:public.pem}", 1)
	badCfg := writeFile(t, dir, "bad.yaml", bad)
	pubBody := strings.Split(readForVerify(t, pubPath), "\n")[1]
	for _, cmd := range []string{"validate", "verify"} {
		out, stderr, code := runMain(t, env, cmd, "-c", badCfg)
		if code != exitUsage || !strings.Contains(stderr, "sinks[0].signing_key: must be an Ed25519 private key") || strings.Contains(out+stderr, pubBody) {
			t.Errorf("%s of a config with a public key as signing_key exited %d:\n%s%s", cmd, code, out, stderr)
		}
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"verify", "out/audit.jsonl"}, "--public-key FILE or -c FILE"},
		{[]string{"verify", "--public-key", filepath.Join(dir, "missing.pem"), files[0]}, "missing.pem"},
		{[]string{"verify", "--public-key", filepath.Join(dir, "signing.pem"), files[0]}, "not a PEM block of type PUBLIC KEY"},
		{[]string{"verify", "--public-key", pubPath, "-c", cfg}, "exclusive"},
		{[]string{"verify", "-c", cfg, "--sink", "other"}, `no file sink "other"`},
		{[]string{"verify", "--public-key", pubPath, filepath.Join(dir, "nothing.jsonl")}, "nothing.jsonl"},
	} {
		out, stderr, code := runMain(t, nil, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v exited %d, want %d with %q:\n%s%s", tc.args, code, exitUsage, tc.want, out, stderr)
		}
		if strings.Contains(out+stderr, keyBody) {
			t.Errorf("%v shows the signing key", tc.args)
		}
	}
}

func readForVerify(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
