package chatgpt

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// TestDecodeFiles: a listing is one JSON document or several; what cannot
// be a page is refused (and, through the client, asked again).
func TestDecodeFiles(t *testing.T) {
	after := time.Date(2026, 7, 9, 10, 0, 0, 0, time.UTC)
	const a = `{"id":"eclf_a","event_type":"AUDIT_LOG","end_time":"2026-07-09T10:00:00Z","file_size":10,"file_sha256":"` +
		`A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1"}`
	const b = `{"id":"eclf_b","event_type":"AUDIT_LOG","end_time":"2026-07-09T10:11:00+00:00"}`
	const c = `{"id":"eclf_c","end_time":"2026-07-09T10:12:00.5Z"}`

	page, err := decodeFiles([]byte(`{"data":[`+a+`,`+b+`],"has_more":true,"last_end_time":"2026-07-09T10:11:00Z"}`+"\n"+
		`{"data":[`+c+`],"has_more":false,"last_end_time":"2026-07-09T10:12:00.5Z"}`+"\n"), "AUDIT_LOG", after, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Files) != 3 || page.HasMore || !page.LastEndTime.Equal(after.Add(12*time.Minute+500*time.Millisecond)) {
		t.Fatalf("page %+v", page)
	}
	if f := page.Files[0]; f.Size != 10 || f.SHA256 != strings.Repeat("a1", 32) || f.Type != "AUDIT_LOG" {
		t.Fatalf("file a %+v", f)
	}
	if f := page.Files[1]; f.Size != -1 || f.SHA256 != "" || !f.EndTime.Equal(after.Add(11*time.Minute)) {
		t.Fatalf("file b %+v", f)
	}
	empty, err := decodeFiles([]byte(`{"data":[],"has_more":false,"last_end_time":null}`), "AUDIT_LOG", after, 3)
	if err != nil || len(empty.Files) != 0 || !empty.LastEndTime.IsZero() {
		t.Fatalf("empty page %+v, %v", empty, err)
	}

	bad := map[string]string{
		"not JSON":             `{"data":[`,
		"no data":              `{"has_more":false}`,
		"no has_more":          `{"data":[]}`,
		"empty body":           ``,
		"too many":             `{"data":[` + a + `,` + b + `,` + c + `,` + c + `],"has_more":false}`,
		"other type":           `{"data":[{"id":"x","event_type":"AUTH_LOG","end_time":"2026-07-09T10:11:00Z"}],"has_more":false}`,
		"no id":                `{"data":[{"end_time":"2026-07-09T10:11:00Z"}],"has_more":false}`,
		"id with a slash":      `{"data":[{"id":"../x","end_time":"2026-07-09T10:11:00Z"}],"has_more":false}`,
		"end_time no zone":     `{"data":[{"id":"x","end_time":"2026-07-09T10:11:00"}],"has_more":false}`,
		"before after":         `{"data":[{"id":"x","end_time":"2026-07-09T09:11:00Z"}],"has_more":false}`,
		"out of order":         `{"data":[` + b + `,` + a + `],"has_more":false}`,
		"more without cursor":  `{"data":[` + a + `],"has_more":true,"last_end_time":null}`,
		"cursor goes back":     `{"data":[` + a + `],"has_more":true,"last_end_time":"2026-07-01T00:00:00Z"}`,
		"short digest":         `{"data":[{"id":"x","end_time":"2026-07-09T10:11:00Z","file_sha256":"abc"}],"has_more":false}`,
		"negative size":        `{"data":[{"id":"x","end_time":"2026-07-09T10:11:00Z","file_size":-1}],"has_more":false}`,
		"a document not a doc": `{"data":[],"has_more":false} [1]`,
	}
	for name, body := range bad {
		if _, err := decodeFiles([]byte(body), "AUDIT_LOG", after, 3); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestLineReader: lines come without their newline, a last line without
// one counts, and a line over the bound is an error before more than the
// bound is held, whatever the reader's buffer.
func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", 200<<10)
	in := "a\n\n" + long + "\r\nlast"
	lr := newLineReader(strings.NewReader(in), 300<<10)
	var got []string
	for {
		l, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(l))
	}
	if len(got) != 4 || got[0] != "a" || got[1] != "" || got[2] != long+"\r" || got[3] != "last" {
		t.Fatalf("lines %d: %.20q", len(got), got)
	}
	lr = newLineReader(iotest.OneByteReader(strings.NewReader("ok\n"+long+"\nnext\n")), 100<<10)
	if l, err := lr.next(); err != nil || string(l) != "ok" {
		t.Fatalf("%q %v", l, err)
	}
	if _, err := lr.next(); !errors.Is(err, errLineTooLong) {
		t.Fatalf("err = %v; want a line too long", err)
	}
	if len(lr.long) > 100<<10+64<<10 {
		t.Fatalf("%d bytes held for a line bounded at %d", len(lr.long), 100<<10)
	}
	exact := newLineReader(strings.NewReader(strings.Repeat("y", 1000)+"\n"), 1000)
	if l, err := exact.next(); err != nil || len(l) != 1000 {
		t.Fatalf("a line of exactly the bound: %d %v", len(l), err)
	}
}

// TestSpoolChecks: a download is kept only when it is whole and right: its
// size and digest as listed, or, without them, not ended inside a line.
func TestSpoolChecks(t *testing.T) {
	body := "{\"event_id\":\"a\"}\n{\"event_id\":\"b\"}\n"
	sum := sha256.Sum256([]byte(body))
	digest := hex.EncodeToString(sum[:])
	n := int64(len(body))
	tests := []struct {
		name string
		body string
		f    File
		want string // "" for kept
	}{
		{"as listed", body, File{Size: n, SHA256: digest}, ""},
		{"no details", body, File{Size: -1}, ""},
		{"no details, last line without newline", strings.TrimSuffix(body, "\n"), File{Size: -1}, ""},
		{"a byte changed", strings.Replace(body, "a", "c", 1), File{Size: n, SHA256: digest}, "SHA-256"},
		{"short", body[:n-5], File{Size: n, SHA256: digest}, "cut short"},
		{"long", body + "{}\n", File{Size: n, SHA256: digest}, "ran over"},
		{"digest only, short", body[:n-5], File{Size: -1, SHA256: digest}, "SHA-256"},
		{"no details, cut inside a line", body[:n-5], File{Size: -1}, "inside a line"},
		{"no details, over max_file_bytes", body, File{Size: -1}, "max_file_bytes"},
		{"empty", "", File{Size: 0}, ""},
	}
	for _, tt := range tests {
		max := int64(1 << 20)
		if strings.Contains(tt.name, "max_file_bytes") {
			max = 10
		}
		sp, err := newSpool(t.TempDir(), max, 1<<10)
		if err != nil {
			t.Fatal(err)
		}
		tt.f.ID = "eclf_t"
		// Fill twice: a retry starts afresh.
		sp.fill(strings.NewReader("garbage that is longer than the body, left by a failed attempt\n"), File{ID: "x", Size: -1})
		err = sp.fill(strings.NewReader(tt.body), tt.f)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "eclf_t")):
			t.Errorf("%s: err = %v; want %q and the file named", tt.name, err, tt.want)
		case tt.want == "":
			lr, err := sp.lines()
			if err != nil {
				t.Fatal(err)
			}
			var all bytes.Buffer
			for {
				l, err := lr.next()
				if err != nil {
					break
				}
				all.Write(l)
				all.WriteByte('\n')
			}
			if strings.TrimSuffix(all.String(), "\n") != strings.TrimSuffix(tt.body, "\n") {
				t.Errorf("%s: read back %q", tt.name, all.String())
			}
		}
		name := sp.f.Name()
		sp.Close()
		if _, err := os.Stat(name); err == nil {
			t.Errorf("%s: the spool file is left behind", tt.name)
		}
	}
}
