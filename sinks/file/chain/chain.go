package chain

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Name is the value of the file sink's integrity key that turns the chain on.
const Name = "sha256-chain"

// SidecarSuffix is appended to a data file's path to name its sidecar.
const SidecarSuffix = ".chain"

// Value is a chain value.
type Value [sha256.Size]byte

// Next returns the chain value of line (its bytes without the newline)
// after prev.
func Next(prev Value, line []byte) Value {
	h := sha256.New()
	h.Write(prev[:])
	h.Write(line)
	var v Value
	h.Sum(v[:0])
	return v
}

// String is the value in lower-case hex, as the sidecar holds it.
func (v Value) String() string { return hex.EncodeToString(v[:]) }

// AppendHex appends the value in hex to dst.
func (v Value) AppendHex(dst []byte) []byte { return hex.AppendEncode(dst, v[:]) }

// ParseValue reads a value in hex.
func ParseValue(s []byte) (Value, error) {
	var v Value
	if len(s) != 2*len(v) {
		return v, errors.New("not a chain value")
	}
	if _, err := hex.Decode(v[:], s); err != nil {
		return v, errors.New("not a chain value")
	}
	return v, nil
}

// Head is what a committed window signs: where the archive stands.
type Head struct {
	// Archive is the base name of the sink's path: every part of one
	// archive carries it, whatever a part's file is called later.
	Archive string `json:"archive"`
	// Part counts the archive's files from 1; rotation starts the next.
	Part int64 `json:"part"`
	// Seq counts the archive's heads from 1, across parts.
	Seq int64 `json:"seq"`
	// Lines and Bytes are how much of the part's file the head covers.
	Lines int64 `json:"lines"`
	Bytes int64 `json:"bytes"`
	// Start is the chain value before the part's first line (the last of
	// the part before; zero for part 1), Chain the value after line Lines.
	Start string `json:"start"`
	Chain string `json:"chain"`
	// Source is the source whose window was committed, Cursor the SHA-256
	// of the cursor the engine saves for it (the window's id; a cursor may
	// be large, and is not the archive's to keep).
	Source string `json:"source"`
	Cursor string `json:"cursor_sha256"`
	// Time is when the head was written.
	Time time.Time `json:"time"`
}

// CursorID is the value of Head.Cursor for cursor.
func CursorID(cursor []byte) string {
	s := sha256.Sum256(cursor)
	return hex.EncodeToString(s[:])
}

// signedLine is the sidecar line of a head: the head's JSON exactly as
// signed, and the signature.
type signedLine struct {
	Head json.RawMessage `json:"head"`
	Sig  string          `json:"sig"`
}

// signContext keeps a head's signature from meaning anything else.
const signContext = "auditrelay sha256-chain head v1\n"

// Sign returns the sidecar line of h (without its newline), signed with key.
func (h *Head) Sign(key ed25519.PrivateKey) ([]byte, error) {
	raw, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	sig := ed25519.Sign(key, append([]byte(signContext), raw...))
	return json.Marshal(signedLine{Head: raw, Sig: base64.StdEncoding.EncodeToString(sig)})
}

// ErrSignature is returned for a head whose signature does not verify.
var ErrSignature = errors.New("its signature does not verify with the public key (a forged or edited head, or another key)")

// ParseHead reads a head's sidecar line and checks its signature with pub.
func ParseHead(line []byte, pub ed25519.PublicKey) (Head, error) {
	var sl signedLine
	var h Head
	if err := json.Unmarshal(line, &sl); err != nil || len(sl.Head) == 0 {
		return h, errors.New("not a head")
	}
	sig, err := base64.StdEncoding.DecodeString(sl.Sig)
	if err != nil || !ed25519.Verify(pub, append([]byte(signContext), sl.Head...), sig) {
		return h, ErrSignature
	}
	if err := json.Unmarshal(sl.Head, &h); err != nil {
		return h, errors.New("a signed head that does not decode")
	}
	return h, nil
}

// isHead tells a head's sidecar line from a value's.
func isHead(line []byte) bool { return len(line) > 0 && line[0] == '{' }

// ParsePrivateKey reads an Ed25519 private key in PEM (PKCS #8, as
// `openssl genpkey -algorithm ed25519` writes it). Its errors never quote
// the key.
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PEM block of type PRIVATE KEY")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("not a PKCS #8 private key")
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, errors.New("not an Ed25519 key")
	}
	return ek, nil
}

// ParsePublicKey reads an Ed25519 public key in PEM (PKIX, as `openssl
// pkey -pubout` writes it).
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM block of type PUBLIC KEY")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, errors.New("not a PKIX public key")
	}
	ek, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("not an Ed25519 key")
	}
	return ek, nil
}

// PartPath is where part of the archive at path goes when it is rotated:
// the part's number before the extension (audit.jsonl: audit.000001.jsonl),
// so that a glob on the extension still finds every part and the parts
// sort in their order.
func PartPath(path string, part int64) string {
	ext := filepath.Ext(path)
	return fmt.Sprintf("%s.%06d%s", strings.TrimSuffix(path, ext), part, ext)
}

// RotatedParts returns the rotated parts of the archive at path, by part
// number.
func RotatedParts(path string) (parts []int64, paths []string, err error) {
	ext := filepath.Ext(path)
	stem := strings.TrimSuffix(path, ext)
	matches, err := filepath.Glob(globEscape(stem) + ".[0-9]*" + globEscape(ext))
	if err != nil {
		return nil, nil, err
	}
	for _, m := range matches {
		num := strings.TrimSuffix(strings.TrimPrefix(m, stem+"."), ext)
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n < 1 || m != PartPath(path, n) {
			continue
		}
		parts = append(parts, n)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	for _, n := range parts {
		paths = append(paths, PartPath(path, n))
	}
	return parts, paths, nil
}

func globEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)
	return r.Replace(s)
}

// LastHead returns the last head of the sidecar at path, checked with pub,
// and the offset just after its line; ok is false when the sidecar holds
// no head. It reads the sidecar backwards from its end, so a long archive
// costs no more than its last window.
func LastHead(path string, pub ed25519.PublicKey) (h Head, end int64, ok bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return h, 0, false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return h, 0, false, err
	}
	size := st.Size()
	chunk := int64(64 << 10)
	for {
		from := max(0, size-chunk)
		buf := make([]byte, size-from)
		if _, err := f.ReadAt(buf, from); err != nil && err != io.EOF {
			return h, 0, false, err
		}
		// Only whole lines count: the last one may be cut short, and the
		// first one of the chunk may start before it.
		last := bytes.LastIndexByte(buf, '\n')
		for last >= 0 {
			begin := bytes.LastIndexByte(buf[:last], '\n') + 1
			if begin == 0 && from > 0 {
				break // the line may start before the chunk
			}
			if line := buf[begin:last]; isHead(line) {
				h, err := ParseHead(line, pub)
				if err != nil {
					return h, 0, false, fmt.Errorf("the last head of %s: %w", path, err)
				}
				return h, from + int64(last) + 1, true, nil
			}
			last = begin - 1
		}
		if from == 0 {
			return h, 0, false, nil
		}
		chunk *= 2
	}
}
