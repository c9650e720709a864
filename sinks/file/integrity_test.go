package file

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/file/chain"
)

func newKey(t testing.TB) (ed25519.PrivateKey, string) {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return key, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func pub(key ed25519.PrivateKey) ed25519.PublicKey { return key.Public().(ed25519.PublicKey) }

// chainSink starts a jsonl sink with integrity on path.
func chainSink(t *testing.T, path string, key ed25519.PrivateKey, rotateBytes int64) *Sink {
	t.Helper()
	s := New(path, "jsonl", true, 0o600)
	s.integ = newArchive(path, key, rotateBytes, 0o600, s.log)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// window consumes n events named after w in two batches and commits.
func window(t *testing.T, s *Sink, w, n int, commit bool) {
	t.Helper()
	ctx := context.Background()
	var ids []string
	for i := range n {
		ids = append(ids, fmt.Sprintf("w%d-%d", w, i))
	}
	for _, part := range [][]string{ids[:n/2], ids[n/2:]} {
		if err := s.Consume(ctx, batch(part...)); err != nil {
			t.Fatal(err)
		}
	}
	if commit {
		if err := s.CommitWindow(ctx, "acme", fmt.Appendf(nil, `{"window":%d}`, w)); err != nil {
			t.Fatal(err)
		}
	}
}

func verify(t *testing.T, key ed25519.PrivateKey, files ...string) *chain.Result {
	t.Helper()
	res, err := chain.Verify(files, pub(key))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// writeArchive writes 3 committed windows of 40 lines each.
func writeArchive(t *testing.T, key ed25519.PrivateKey) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	s := chainSink(t, path, key, 0)
	for w := range 3 {
		window(t, s, w, 40, true)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	return path
}

func editLines(t *testing.T, path string, edit func([][]byte) [][]byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	if err := os.WriteFile(path, bytes.Join(edit(lines), nil), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestChainedArchiveIsIntactAndLinesUnchanged(t *testing.T) {
	key, _ := newKey(t)
	path := writeArchive(t, key)
	res := verify(t, key, path)
	if res.Break != nil || res.Tail != nil || res.Heads != 3 || res.Parts[0].Lines != 120 {
		t.Fatalf("intact archive: break %v, tail %+v, %d heads, parts %+v", res.Break, res.Tail, res.Heads, res.Parts)
	}
	if res.Last.Source != "acme" || res.Last.Seq != 3 || res.Last.Cursor != chain.CursorID([]byte(`{"window":2}`)) {
		t.Fatalf("last head %+v", res.Last)
	}
	// The lines a consumer reads are the events, byte for byte.
	lines := readLines(t, path)
	if want := `{"id":"w0-0","type":"login.failed","x":{"unknown":[1,2.50,"é"]}}`; lines[0] != want {
		t.Fatalf("line 1 is %s, want %s", lines[0], want)
	}
	side := readLines(t, path+chain.SidecarSuffix)
	if len(side) != 123 {
		t.Fatalf("sidecar has %d lines, want 120 values and 3 heads", len(side))
	}
}

// TestVerifyCatchesTampering: every way of changing an archive after it
// was written is reported as a break, at the line where it is.
func TestVerifyCatchesTampering(t *testing.T) {
	key, _ := newKey(t)
	other, _ := newKey(t)
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, path string)
		line   int64
		reason string
	}{
		{"a changed byte", func(t *testing.T, path string) {
			editLines(t, path, func(l [][]byte) [][]byte { l[36] = bytes.Replace(l[36], []byte("2.50"), []byte("2.51"), 1); return l })
		}, 37, "does not match its chain value"},
		{"a deleted line", func(t *testing.T, path string) {
			editLines(t, path, func(l [][]byte) [][]byte { return append(l[:36:36], l[37:]...) })
		}, 37, "does not match its chain value"},
		{"a swapped pair", func(t *testing.T, path string) {
			editLines(t, path, func(l [][]byte) [][]byte { l[50], l[51] = l[51], l[50]; return l })
		}, 51, "does not match its chain value"},
		{"an inserted line", func(t *testing.T, path string) {
			editLines(t, path, func(l [][]byte) [][]byte { return append(l[:10:10], append([][]byte{[]byte("{}\n")}, l[10:]...)...) })
		}, 11, "does not match its chain value"},
		{"a truncated file", func(t *testing.T, path string) {
			editLines(t, path, func(l [][]byte) [][]byte { return l[:70] })
		}, 71, "truncated"},
		{"a file cut inside a line", func(t *testing.T, path string) {
			editLines(t, path, func(l [][]byte) [][]byte { l[69] = l[69][:10]; return l[:70] })
		}, 71, "truncated"},
		{"a line appended by hand", func(t *testing.T, path string) {
			editLines(t, path, func(l [][]byte) [][]byte { return append(l, []byte(`{"id":"forged"}`+"\n")) })
		}, 121, "no chain value"},
		{"a changed line with its chain values written again", func(t *testing.T, path string) {
			editLines(t, path, func(l [][]byte) [][]byte { l[44] = bytes.Replace(l[44], []byte("2.50"), []byte("9.99"), 1); return l })
			rechain(t, path)
		}, 80, "does not match the lines before it"},
		{"a head signed with another key", func(t *testing.T, path string) {
			editLines(t, path+chain.SidecarSuffix, func(l [][]byte) [][]byte {
				h, err := chain.ParseHead(bytes.TrimSuffix(l[81], []byte("\n")), pub(key))
				if err != nil {
					t.Fatal(err)
				}
				forged, _ := h.Sign(other)
				l[81] = append(forged, '\n')
				return l
			})
		}, 80, "signature does not verify"},
		{"an edited head", func(t *testing.T, path string) {
			editLines(t, path+chain.SidecarSuffix, func(l [][]byte) [][]byte {
				l[81] = bytes.Replace(l[81], []byte(`"source":"acme"`), []byte(`"source":"acne"`), 1)
				return l
			})
		}, 80, "signature does not verify"},
		{"a removed window", func(t *testing.T, path string) {
			editLines(t, path, func(l [][]byte) [][]byte { return append(l[:40:40], l[80:]...) })
			editLines(t, path+chain.SidecarSuffix, func(l [][]byte) [][]byte { return append(l[:41:41], l[82:]...) })
		}, 41, "does not match its chain value"},
		{"a removed head", func(t *testing.T, path string) {
			editLines(t, path+chain.SidecarSuffix, func(l [][]byte) [][]byte { return append(l[:81:81], l[82:]...) })
		}, 120, "head 3 follows head 1"},
		{"the first head removed", func(t *testing.T, path string) {
			editLines(t, path+chain.SidecarSuffix, func(l [][]byte) [][]byte { return append(l[:40:40], l[41:]...) })
		}, 80, "the first head of part 1 is head 2"},
		{"a missing sidecar", func(t *testing.T, path string) {
			os.Remove(path + chain.SidecarSuffix)
		}, 1, "sidecar"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeArchive(t, key)
			tc.tamper(t, path)
			res := verify(t, key, path)
			if res.Break == nil {
				t.Fatalf("not caught: tail %+v, %d heads", res.Tail, res.Heads)
			}
			if res.Break.Line != tc.line || !strings.Contains(res.Break.Reason, tc.reason) {
				t.Fatalf("break %q, want line %d: ...%s...", res.Break, tc.line, tc.reason)
			}
		})
	}
}

// rechain writes the sidecar's chain values again from the data file, as
// someone who changed a line and knows the format would, keeping the heads.
func rechain(t *testing.T, path string) {
	t.Helper()
	data, _ := os.ReadFile(path)
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	editLines(t, path+chain.SidecarSuffix, func(side [][]byte) [][]byte {
		var c chain.Value
		n := 0
		for i, l := range side {
			if l[0] == '{' {
				continue
			}
			c = chain.Next(c, lines[n])
			side[i] = append([]byte(c.String()), '\n')
			n++
		}
		return side
	})
}

// TestUncommittedTailIsNotABreak: lines written for a window not yet
// committed (a running writer, or one killed) are a tail, told apart from
// a break; a kill in the middle of a write leaves values without their
// lines and a line cut short, which is a tail too.
func TestUncommittedTailIsNotABreak(t *testing.T) {
	key, _ := newKey(t)
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	s := chainSink(t, path, key, 0)
	window(t, s, 0, 10, true)
	window(t, s, 1, 6, false)
	res := verify(t, key, path)
	if res.Break != nil || res.Tail == nil || res.Tail.From != 11 || res.Tail.Lines != 6 || res.Tail.CutShort {
		t.Fatalf("break %v, tail %+v; want a tail of lines 11-16", res.Break, res.Tail)
	}
	// A kill while the lines of the values were being written.
	editLines(t, path, func(l [][]byte) [][]byte { l[13] = l[13][:7]; return l[:14] })
	res = verify(t, key, path)
	if res.Break != nil || res.Tail == nil || !res.Tail.CutShort || res.Tail.Unwritten != 2 || res.Tail.Lines != 4 {
		t.Fatalf("break %v, tail %+v; want 3 lines, one cut short, 2 values unwritten", res.Break, res.Tail)
	}
	s.Shutdown(context.Background())
}

// TestRestartAfterAKillKeepsTheChain: what a killed run wrote after its
// last head is removed at the next start, the engine writes that window
// again, and the archive verifies whole, its heads consecutive.
func TestRestartAfterAKillKeepsTheChain(t *testing.T) {
	key, _ := newKey(t)
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	s := chainSink(t, path, key, 0)
	window(t, s, 0, 10, true)
	window(t, s, 1, 8, false)
	// The kill: no Shutdown; a torn line and a value cut short on top.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"id":"w1-`)
	f.Close()
	f, _ = os.OpenFile(path+chain.SidecarSuffix, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("abc")
	f.Close()

	s2 := chainSink(t, path, key, 0)
	if got := readLines(t, path); len(got) != 10 {
		t.Fatalf("after restart the file has %d lines, want the 10 committed", len(got))
	}
	window(t, s2, 1, 8, true)
	window(t, s2, 2, 4, true)
	s2.Shutdown(context.Background())
	res := verify(t, key, path)
	if res.Break != nil || res.Tail != nil || res.Heads != 3 || res.Parts[0].Lines != 22 {
		t.Fatalf("break %v, tail %+v, %d heads, parts %+v", res.Break, res.Tail, res.Heads, res.Parts)
	}
	// An empty window signs nothing new.
	s3 := chainSink(t, path, key, 0)
	if err := s3.CommitWindow(context.Background(), "acme", nil); err != nil {
		t.Fatal(err)
	}
	s3.Shutdown(context.Background())
	if res := verify(t, key, path); res.Heads != 3 {
		t.Fatalf("%d heads after an empty commit, want 3", res.Heads)
	}
}

func TestStartRefusesAFileItCannotContinue(t *testing.T) {
	key, _ := newKey(t)
	other, _ := newKey(t)
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, path string)
		want  string
	}{
		{"lines written without integrity", func(t *testing.T, path string) {
			os.WriteFile(path, []byte("{\"id\":\"a\"}\n"), 0o600)
		}, "no chain covers"},
		{"a file shorter than its last head", func(t *testing.T, path string) {
			s := chainSink(t, path, key, 0)
			window(t, s, 0, 10, true)
			s.Shutdown(context.Background())
			os.Truncate(path, 100)
		}, "truncated"},
		{"a sidecar cut back to an earlier head", func(t *testing.T, path string) {
			s := chainSink(t, path, key, 0)
			window(t, s, 0, 10, true)
			window(t, s, 1, 10, true)
			s.Shutdown(context.Background())
			editLines(t, path+chain.SidecarSuffix, func(l [][]byte) [][]byte { return l[:11] })
		}, "only 0 chain values"},
		{"a line added after the last head", func(t *testing.T, path string) {
			s := chainSink(t, path, key, 0)
			window(t, s, 0, 10, true)
			s.Shutdown(context.Background())
			editLines(t, path, func(l [][]byte) [][]byte { return append(l, []byte("{}\n")) })
		}, "1 lines after its last signed head"},
		{"a head of another key", func(t *testing.T, path string) {
			s := chainSink(t, path, other, 0)
			window(t, s, 0, 10, true)
			s.Shutdown(context.Background())
		}, "signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			tc.setup(t, path)
			s := New(path, "jsonl", true, 0o600)
			s.integ = newArchive(path, key, 0, 0o600, s.log)
			err := s.Start(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Start = %v, want an error about %q", err, tc.want)
			}
		})
	}
}

// TestRotationKeepsTheChain: each part starts where the one before ended,
// and its heads say so; a missing part is a break; a kill between the two
// renames of a rotation is finished at the next start.
func TestRotationKeepsTheChain(t *testing.T) {
	key, _ := newKey(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	s := chainSink(t, path, key, 2000) // a window of 20 lines is about 1,500 bytes
	for w := range 7 {
		window(t, s, w, 20, true)
	}
	s.Shutdown(context.Background())
	_, parts, err := chain.RotatedParts(path)
	if err != nil || len(parts) != 3 || parts[0] != filepath.Join(dir, "audit.000001.jsonl") {
		t.Fatalf("rotated parts %v (%v), want 3", parts, err)
	}
	all := append([]string{path}, parts...) // in no particular order
	res := verify(t, key, all...)
	if res.Break != nil || res.Tail != nil || res.Heads != 7 || len(res.Parts) != 4 || res.Last.Part != 4 {
		t.Fatalf("break %v, tail %+v, %d heads, parts %+v", res.Break, res.Tail, res.Heads, res.Parts)
	}
	var lines int64
	for _, p := range res.Parts {
		lines += p.Lines
	}
	if lines != 140 {
		t.Fatalf("%d lines in the parts, want 140", lines)
	}
	if res := verify(t, key, parts[0], parts[2], path); res.Break == nil || !strings.Contains(res.Break.Reason, "a part is missing") {
		t.Fatalf("part 2 left out: break %v", res.Break)
	}
	if res := verify(t, key, parts[1], parts[2], path); res.Break != nil || res.FirstPart != 2 {
		t.Fatalf("from part 2 on: break %v, first part %d", res.Break, res.FirstPart)
	}

	// A kill between renaming the file and its sidecar.
	window2 := chainSink(t, path, key, 1000)
	window(t, window2, 7, 20, true) // rotates part 4
	window2.Shutdown(context.Background())
	p4 := chain.PartPath(path, 4)
	os.Remove(path)
	os.Remove(path + chain.SidecarSuffix)
	if err := os.Rename(p4+chain.SidecarSuffix, path+chain.SidecarSuffix); err != nil {
		t.Fatal(err)
	}
	s = chainSink(t, path, key, 0)
	window(t, s, 8, 20, true)
	s.Shutdown(context.Background())
	_, parts, _ = chain.RotatedParts(path)
	res = verify(t, key, append(parts, path)...)
	if res.Break != nil || res.Tail != nil || res.Heads != 9 || res.Last.Part != 5 {
		t.Fatalf("after a rotation cut short: break %v, tail %+v, %d heads, last %+v", res.Break, res.Tail, res.Heads, res.Last)
	}
}

func TestValidateIntegrity(t *testing.T) {
	_, pemKey := newKey(t)
	ok := Config{Path: "a.jsonl", Format: "jsonl", Fsync: true, Mode: 0o600, Integrity: "sha256-chain", SigningKey: pipeline.Secret(pemKey)}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	secret := "-----BEGIN PRIVATE KEY-----\nTUlJQ0VBSVNFQ1JFVA==\n-----END PRIVATE KEY-----\n"
	for _, tc := range []struct {
		edit func(c *Config)
		want string
	}{
		{func(c *Config) { c.Integrity = "md5" }, "integrity: must be sha256-chain"},
		{func(c *Config) { c.SigningKey = "" }, "signing_key: must be set"},
		{func(c *Config) { c.SigningKey = pipeline.Secret(secret) }, "signing_key: must be an Ed25519 private key"},
		{func(c *Config) { c.Fsync = false }, "fsync: must be true"},
		{func(c *Config) { c.Path = "-" }, "integrity: needs a file"},
		{func(c *Config) { c.RotateBytes = -1 }, "rotate_bytes: must be >= 0"},
		{func(c *Config) { c.Integrity = "" }, "signing_key: is only used with integrity"},
		{func(c *Config) { c.Integrity, c.SigningKey, c.RotateBytes = "", "", 10 }, "rotate_bytes: is only used with integrity"},
	} {
		c := ok
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate = %v, want %q", err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "TUlJ") || strings.Contains(err.Error(), "BEGIN")) {
			t.Errorf("the error quotes the key: %v", err)
		}
	}
}

// TestIntegrityOffChangesNothing: without integrity no sidecar appears.
func TestIntegrityOffChangesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	s := start(t, path, true)
	window(t, s, 0, 4, true)
	s.Shutdown(context.Background())
	if _, err := os.Stat(path + chain.SidecarSuffix); !os.IsNotExist(err) {
		t.Fatalf("a sidecar without integrity: %v", err)
	}
}

// TestTextFormatIsChainedToo: the chain covers the lines as written,
// whatever the format.
func TestTextFormatIsChainedToo(t *testing.T) {
	key, _ := newKey(t)
	path := filepath.Join(t.TempDir(), "audit.log")
	s := New(path, "text", true, 0o600)
	s.integ = newArchive(path, key, 0, 0o600, s.log)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	window(t, s, 0, 6, true)
	s.Shutdown(context.Background())
	res := verify(t, key, path)
	if res.Break != nil || res.Tail != nil || res.Parts[0].Lines != 6 || res.Heads != 1 {
		t.Fatalf("break %v, tail %+v, parts %+v, %d heads", res.Break, res.Tail, res.Parts, res.Heads)
	}
	if lines := readLines(t, path); !strings.Contains(lines[0], "login.failed") || strings.HasPrefix(lines[0], "{") {
		t.Fatalf("not a text line: %q", lines[0])
	}
}

// BenchmarkConsume measures what integrity costs per event: batches of
// 1,000 events of about 560 bytes (an audit event's size), a commit (an
// fsync and, with integrity, a signed head) after every batch.
func BenchmarkConsume(b *testing.B) {
	raw := []byte(`{"id":"audit_log-0123456789abcdef","type":"api_key.created","effective_at":1733000000,"actor":` +
		`{"type":"session","session":{"user":{"id":"user-abc","email":"someone@example.com"},"ip_address":"203.0.113.7",` +
		`"user_agent":"Mozilla/5.0"}},"project":{"id":"proj_abc","name":"prod"},"api_key.created":{"id":"key_abc",` +
		`"data":{"scopes":["api.model.read","api.model.request"]}},` + `"pad":"` + strings.Repeat("x", 170) + `"}`)
	bt := pipeline.Batch{Source: "acme", Events: make([]pipeline.Event, 1000)}
	for i := range bt.Events {
		bt.Events[i] = pipeline.Event{ID: "x", Raw: raw}
	}
	key, _ := newKey(b)
	for _, integrity := range []bool{false, true} {
		name := "plain"
		if integrity {
			name = "sha256-chain"
		}
		b.Run(name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "audit.jsonl")
			s := New(path, "jsonl", true, 0o600)
			if integrity {
				s.integ = newArchive(path, key, 0, 0o600, s.log)
			}
			ctx := context.Background()
			if err := s.Start(ctx); err != nil {
				b.Fatal(err)
			}
			defer s.Shutdown(ctx)
			b.SetBytes(int64(len(bt.Events) * (len(raw) + 1)))
			for b.Loop() {
				if err := s.Consume(ctx, bt); err != nil {
					b.Fatal(err)
				}
				if err := s.CommitWindow(ctx, "acme", []byte("cursor")); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
