package file

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/schema/openai"
)

// FuzzReplayLine checks the line parser and the line splitter: parseLine
// never panics and accepts only JSON objects it can index, keeping them
// byte for byte; the splitter accounts for every byte of a stream.
func FuzzReplayLine(f *testing.F) {
	lines, _ := export(f, 9, 6)
	for _, l := range lines {
		f.Add(l)
	}
	for _, s := range []string{
		"", "\n", "{}", "[]", "{\"id\":\"a\",\"type\":\"t\",\"effective_at\":1}",
		"{\"id\":\"r\",\"event\":\"e\",\"created_at\":2}\r\n{\"id\":\"r\"}",
		"{\"id\":\"a\",\"type\":\"t\",\"effective_at\":1,\"created_at\":\"x\"}",
		"{\"id\":\"a\",\"event\":\"t\",\"effective_at\":\"x\",\"created_at\":3}",
		"  {\"id\":\"a\",\"type\":\"t\",\"effective_at\":1}\t",
		"\xef\xbb\xbf{}\n{\"id\":1}",
	} {
		f.Add([]byte(s))
	}
	observed := time.Unix(1e9, 0)
	f.Fuzz(func(t *testing.T, in []byte) {
		ev, err := parseLine(in, "src", observed)
		if err == nil {
			raw := bytes.TrimSpace(in)
			switch {
			case !bytes.Equal(ev.Raw, raw):
				t.Fatalf("Raw %q is not the trimmed line %q", ev.Raw, raw)
			case !json.Valid(ev.Raw) || ev.Raw[0] != '{':
				t.Fatalf("accepted a line that is not a JSON object: %q", in)
			case ev.ID == "" || ev.Type == "" || ev.Time.IsZero() && ev.Time != time.Unix(0, 0).UTC():
				t.Fatalf("accepted an event without id, type or time: %+v", ev)
			case ev.Schema != openai.SchemaAuditLog && ev.Schema != openai.SchemaRequestLog:
				t.Fatalf("schema %q", ev.Schema)
			case ev.Source != "src" || !ev.ObservedAt.Equal(observed):
				t.Fatalf("source %q observed %v", ev.Source, ev.ObservedAt)
			}
		} else if len(bytes.TrimSpace(in)) == 0 != errors.Is(err, errBlank) {
			t.Fatalf("blank %q: err %v", in, err)
		}

		// The splitter, with a small bound and a tiny buffer, gives back
		// the stream: every line and terminator, every byte counted.
		lr := newLineReader(bytes.NewReader(in), 40)
		var total int64
		for {
			line, n, complete, tooLong, err := lr.next()
			if err != nil && err != io.EOF {
				t.Fatal(err)
			}
			seg := in[total : total+n]
			if want := len(bytes.TrimSuffix(seg, []byte("\n"))) > 40; tooLong != want {
				t.Fatalf("tooLong=%v for a line of %d bytes: %q", tooLong, len(seg), seg)
			}
			if !tooLong {
				want := seg
				if complete {
					want = bytes.TrimSuffix(bytes.TrimSuffix(want, []byte("\n")), []byte("\r"))
				}
				if !bytes.Equal(line, want) {
					t.Fatalf("line %q, want %q", line, want)
				}
				if len(line) > 40 {
					t.Fatalf("line of %d bytes passed a bound of 40", len(line))
				}
			}
			if complete != (n > 0 && seg[n-1] == '\n') {
				t.Fatalf("complete=%v for %q", complete, seg)
			}
			total += n
			if err == io.EOF {
				break
			}
		}
		if total != int64(len(in)) {
			t.Fatalf("counted %d bytes of %d", total, len(in))
		}
	})
}
