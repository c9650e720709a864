package chain

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func key(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestLastHeadReadsBackwards: the head may sit far before the end (the
// values of a window not committed follow it) and its line may cross the
// chunks the sidecar is read in; a value cut short at the end is no line.
func TestLastHeadReadsBackwards(t *testing.T) {
	k := key(t)
	pub := k.Public().(ed25519.PublicKey)
	for _, after := range []int{0, 1, 1000, 3000} {
		var side bytes.Buffer
		var c Value
		for i := range 50 {
			c = Next(c, []byte{byte(i)})
			side.WriteString(c.String() + "\n")
		}
		h := Head{Archive: "a.jsonl", Part: 1, Seq: 7, Lines: 50, Chain: c.String(), Source: strings.Repeat("s", 300), Time: time.Unix(1, 0).UTC()}
		line, err := h.Sign(k)
		if err != nil {
			t.Fatal(err)
		}
		side.Write(append(line, '\n'))
		end := int64(side.Len())
		for range after {
			side.WriteString(c.String() + "\n")
		}
		side.WriteString("abc") // cut short
		path := filepath.Join(t.TempDir(), "a.jsonl.chain")
		os.WriteFile(path, side.Bytes(), 0o600)
		got, gotEnd, ok, err := LastHead(path, pub)
		if err != nil || !ok || got.Seq != 7 || got.Source != h.Source || gotEnd != end {
			t.Fatalf("%d values after the head: LastHead = %+v, end %d (want %d), %v, %v", after, got, gotEnd, end, ok, err)
		}
	}
	path := filepath.Join(t.TempDir(), "none.chain")
	os.WriteFile(path, []byte(strings.Repeat(Value{}.String()+"\n", 2000)), 0o600)
	if _, _, ok, err := LastHead(path, pub); ok || err != nil {
		t.Fatalf("a sidecar without a head: ok %v, err %v", ok, err)
	}
}

func TestPartPathAndRotatedParts(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	if got := PartPath(path, 12); got != filepath.Join(dir, "audit.000012.jsonl") {
		t.Fatalf("PartPath = %s", got)
	}
	if got := PartPath(filepath.Join(dir, "audit"), 3); got != filepath.Join(dir, "audit.000003") {
		t.Fatalf("PartPath without an extension = %s", got)
	}
	for _, name := range []string{"audit.000002.jsonl", "audit.000010.jsonl", "audit.000001.jsonl", "audit.000001.jsonl.chain", "audit.x.jsonl", "audit.2.jsonl", "other.000003.jsonl"} {
		os.WriteFile(filepath.Join(dir, name), nil, 0o600)
	}
	parts, paths, err := RotatedParts(path)
	if err != nil || len(parts) != 3 || parts[0] != 1 || parts[2] != 10 || paths[1] != filepath.Join(dir, "audit.000002.jsonl") {
		t.Fatalf("RotatedParts = %v %v %v", parts, paths, err)
	}
}

// TestKeysAreReadAndNeverQuoted: the PEM forms openssl writes are read;
// an error about a key never repeats it.
func TestKeysAreReadAndNeverQuoted(t *testing.T) {
	k := key(t)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	priv := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	pder, _ := x509.MarshalPKIXPublicKey(k.Public())
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder})
	if got, err := ParsePrivateKey(priv); err != nil || !got.Equal(k) {
		t.Fatalf("ParsePrivateKey: %v", err)
	}
	if got, err := ParsePublicKey(pub); err != nil || !got.Equal(k.Public()) {
		t.Fatalf("ParsePublicKey: %v", err)
	}
	body := strings.Split(string(priv), "\n")[1]
	for _, bad := range [][]byte{pub, []byte(body), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der[:20]})} {
		if _, err := ParsePrivateKey(bad); err == nil || strings.Contains(err.Error(), body[:16]) {
			t.Fatalf("ParsePrivateKey(bad) = %v", err)
		}
	}
	if _, err := ParsePublicKey(priv); err == nil || strings.Contains(err.Error(), body[:16]) {
		t.Fatalf("ParsePublicKey(a private key) = %v", err)
	}
}
