//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/source/openai/openaisim"
	"github.com/auditrelay/auditrelay/source/openai/openaisim/openaisimtest"
)

// debianPython is where python3-aiosmtpd installs; the first python3 on
// PATH may be another one.
const debianPython = "/usr/bin/python3"

// TestEmailSinkWithAiosmtpd runs `auditrelay run --once` from the
// simulator through redact and the default detection pack into the email
// sink, which takes the alerts only, over STARTTLS (a CA of the test's)
// with AUTH PLAIN, to a real SMTP server in its own process (aiosmtpd)
// that stores what it accepts in a Maildir. The mails are read back with
// net/mail and mime/multipart: together they hold every alert the same run
// wrote to an alert file, each rule and its evidence ids are in the body,
// and no e-mail or IP address of the events is in any mail (redaction
// applies first).
func TestEmailSinkWithAiosmtpd(t *testing.T) {
	if err := exec.Command(debianPython, "-c", "import aiosmtpd").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("aiosmtpd is missing (%v): `apt-get install python3-aiosmtpd` (.ci/run installs it)", err)
		}
		t.Skipf("aiosmtpd is missing (%v): `apt-get install python3-aiosmtpd`", err)
	}
	const n = 6000
	sim, base := openaisimtest.Start(t, openaisim.Options{Seed: 62, Events: n, Span: 240 * time.Hour})
	events := visibleEvents(t, sim, n)
	dir := t.TempDir()
	caFile, certFile, keyFile := writeTestCA(t, dir)
	maildir := filepath.Join(dir, "maildir") // aiosmtpd creates it
	startAiosmtpd(t, maildir, certFile, keyFile, "auditrelay", "smtp-e2e-pa55word")

	cfg := writeConfig(t, backfillConfig(base, fmt.Sprintf(`  - name: alerts
    type: file
    path: out/alerts.jsonl
    accept:
      types: [auditrelay.alert]
  - name: mail
    type: email
    host: 127.0.0.1
    port: %d
    security: starttls
    tls: {ca_file: %s}
    username: auditrelay
    password: ${env:SMTP_PASSWORD}
    from: auditrelay <alerts@auditrelay.test>
    to: [secops@auditrelay.test]
    max_events_per_mail: 25
    accept:
      types: [auditrelay.alert]`, smtpdPort, caFile), fileCheckpoint)+`
transforms:
  - type: redact
  - type: detect
`)
	t.Setenv("SMTP_PASSWORD", "smtp-e2e-pa55word")
	_, stderr, code := runAuditrelay(t, 3*time.Minute, "run", "-c", cfg, "--once")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if strings.Contains(stderr, "smtp-e2e-pa55word") {
		t.Fatal("the SMTP password is in the log")
	}
	alerts := readAlerts(t, filepath.Join(filepath.Dir(cfg), "out", "alerts.jsonl"))
	if len(alerts) < 5 {
		t.Fatalf("%d alerts: too few to check", len(alerts))
	}

	mails := readMaildir(t, maildir)
	mailed := map[string]int{}
	for _, m := range mails {
		if m.from != "alerts@auditrelay.test" || m.to != "secops@auditrelay.test" || !strings.HasPrefix(m.subject, "[auditrelay] ") {
			t.Fatalf("mail from %q to %q subject %q", m.from, m.to, m.subject)
		}
		for _, line := range strings.Split(strings.TrimSpace(m.jsonl), "\n") {
			var a alertLine
			if err := json.Unmarshal([]byte(line), &a); err != nil || a.Type != "auditrelay.alert" {
				t.Fatalf("attached event %q is not an alert (%v)", line, err)
			}
			mailed[a.ID]++
			if !strings.Contains(m.body, "ALERT "+a.Rule) || !strings.Contains(m.subject, a.Rule) {
				t.Fatalf("mail %q does not name rule %s:\n%s", m.subject, a.Rule, m.body)
			}
			for _, id := range a.Evidence.EventIDs {
				if _, ok := events[id]; !ok || !strings.Contains(m.body, id) {
					t.Fatalf("evidence %s of %s: a simulator event %v, in the body %v", id, a.ID, ok, strings.Contains(m.body, id))
				}
			}
		}
	}
	for _, a := range alerts {
		if mailed[a.ID] == 0 {
			t.Fatalf("alert %s (%s) was not mailed", a.ID, a.Rule)
		}
	}
	if len(mailed) != len(alertIDs(alerts)) {
		t.Fatalf("%d alerts mailed, %d written to the file", len(mailed), len(alertIDs(alerts)))
	}
	// What the events would give away, had redaction not run first.
	secrets := regexp.MustCompile(`[\w.+-]+@[\w-]+\.[\w.]+|\b\d{1,3}(\.\d{1,3}){3}\b`)
	for _, m := range mails {
		for _, s := range secrets.FindAllString(m.body+m.jsonl+m.subject, -1) {
			if s == "alerts@auditrelay.test" || s == "secops@auditrelay.test" {
				continue
			}
			for id, raw := range events {
				if strings.Contains(raw, s) {
					t.Fatalf("mail %q shows %q of event %s", m.subject, s, id)
				}
			}
		}
	}
	t.Logf("%d alerts in %d mails", len(alerts), len(mails))
}

func alertIDs(as []alertLine) map[string]bool {
	out := map[string]bool{}
	for _, a := range as {
		out[a.ID] = true
	}
	return out
}

// smtpdPort is the port of the aiosmtpd the running test started.
var smtpdPort int

// startAiosmtpd starts aiosmtpd on a listener bound here on 127.0.0.1:0
// and handed over as its file descriptor 3 (its own command line would
// bind the port itself and not say which one it got). It is killed at the
// end of the test.
func startAiosmtpd(t *testing.T, maildir, cert, key, user, password string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	smtpdPort = l.Addr().(*net.TCPAddr).Port
	f, err := l.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(debianPython, filepath.Join("testdata", "smtpd.py"), maildir, cert, key)
	cmd.ExtraFiles = []*os.File{f}
	cmd.Env = append(os.Environ(), "SMTPD_USER="+user, "SMTPD_PASSWORD="+password)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The server holds the socket now; this process's copies go.
	_ = f.Close()
	_ = l.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("aiosmtpd:\n%s", errb.String())
		}
	})
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		ok := sc.Scan() && sc.Text() == "ready"
		ready <- ok
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case ok := <-ready:
		if !ok {
			_ = cmd.Wait()
			t.Fatalf("aiosmtpd did not start:\n%s", errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("aiosmtpd not ready after 30s:\n%s", errb.String())
	}
}

// storedMail is a mail of the Maildir, parsed.
type storedMail struct {
	from, to, subject string
	body, jsonl       string
}

// readMaildir parses every mail aiosmtpd stored.
func readMaildir(t *testing.T, dir string) []storedMail {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "new", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no mail in %s (%v)", dir, err)
	}
	slices.Sort(files)
	var out []storedMail
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var m storedMail
		from, err1 := mail.ParseAddress(msg.Header.Get("From"))
		to, err2 := mail.ParseAddress(msg.Header.Get("To"))
		subject, err3 := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("%s: headers %v: %v %v %v", name, msg.Header, err1, err2, err3)
		}
		if _, err := msg.Header.Date(); err != nil || msg.Header.Get("Message-Id") == "" {
			t.Fatalf("%s: Date %q (%v), Message-ID %q", name, msg.Header.Get("Date"), err, msg.Header.Get("Message-Id"))
		}
		m.from, m.to, m.subject = from.Address, to.Address, subject
		mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/mixed" {
			t.Fatalf("%s: Content-Type %q (%v)", name, msg.Header.Get("Content-Type"), err)
		}
		mr := multipart.NewReader(msg.Body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var r io.Reader = part
			switch strings.ToLower(part.Header.Get("Content-Transfer-Encoding")) {
			case "base64":
				r = base64.NewDecoder(base64.StdEncoding, part)
			case "quoted-printable":
				r = quotedprintable.NewReader(part)
			}
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if part.FileName() == "events.jsonl" {
				m.jsonl = string(b)
			} else {
				m.body = strings.ReplaceAll(string(b), "\r\n", "\n")
			}
		}
		out = append(out, m)
	}
	return out
}

// writeTestCA writes a CA's certificate and a server certificate it signed
// for 127.0.0.1, with its key, as PEM files in dir.
func writeTestCA(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	now := time.Now()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "auditrelay e2e CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "mx.test"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	caFile, certFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for p, b := range map[string]*pem.Block{caFile: {Type: "CERTIFICATE", Bytes: caDER}, certFile: {Type: "CERTIFICATE", Bytes: der},
		keyFile: {Type: "PRIVATE KEY", Bytes: kb}} {
		if err := os.WriteFile(p, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return caFile, certFile, keyFile
}
