package email

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// A real SMTP server in the test process (go-smtp's server side): it
// records every mail it answered 250 and answers what the test says.

const (
	testUser     = "relay-user"
	testPassword = "pa55-w0rd-never-shown"
)

// received is one mail the server accepted.
type received struct {
	From string
	To   []string
	Data []byte
	TLS  bool   // the session was encrypted when the mail came
	User string // who logged in ("" for nobody)
}

// testServer is the backend and what it saw.
type testServer struct {
	addr *net.TCPAddr

	mu       sync.Mutex
	mails    []received
	attempts int // DATA commands answered (accepted or not)
	logins   []string
	// authFail, when set, answers the n-th login (1-based) with an error,
	// or nil to check the credentials.
	authFail func(n int) *smtp.SMTPError
	// refuse, when set, answers a command (MAIL, RCPT or DATA) of the
	// attempt-th mail (1-based) with an error, or nil to go on.
	refuse func(cmd string, attempt int) *smtp.SMTPError
}

type serverOpts struct {
	tls       *tls.Config // STARTTLS offered with it (nil: not offered)
	implicit  bool        // TLS from the first byte (needs tls)
	auth      bool        // AUTH PLAIN and LOGIN offered; testUser/testPassword accepted
	plainAuth bool        // AUTH offered over plain text too
}

// startServer serves on 127.0.0.1:0 until the test ends.
func startServer(t *testing.T, o serverOpts) *testServer {
	t.Helper()
	ts := &testServer{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{ts: ts, conn: c, auth: o.auth}, nil
	}))
	srv.Domain = "mx.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.AllowInsecureAuth = o.plainAuth
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = l.Addr().(*net.TCPAddr)
	if o.implicit {
		l = tls.NewListener(l, o.tls)
	} else {
		srv.TLSConfig = o.tls
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ts
}

func (ts *testServer) received() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.mails...)
}

type session struct {
	ts      *testServer
	conn    *smtp.Conn
	auth    bool
	user    string
	from    string
	to      []string
	attempt int
}

func (s *session) AuthMechanisms() []string {
	if !s.auth {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		s.ts.mu.Lock()
		s.ts.logins = append(s.ts.logins, mech+" "+user)
		n := len(s.ts.logins)
		s.ts.mu.Unlock()
		if s.ts.authFail != nil {
			if e := s.ts.authFail(n); e != nil {
				return e
			}
		}
		if user != testUser || pass != testPassword {
			return smtp.ErrAuthFailed
		}
		s.user = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// loginServer is the server side of AUTH LOGIN (go-sasl has only the
// client): "Username:", "Password:", then the check.
type loginServer struct {
	check      func(user, pass string) error
	user       string
	step       int
	gotInitial bool
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step++
		if resp != nil {
			l.user = string(resp)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.user = string(resp)
		l.step++
		return []byte("Password:"), false, nil
	}
	return nil, true, l.check(l.user, string(resp))
}

func (s *session) refuse(cmd string) error {
	if s.ts.refuse == nil {
		return nil
	}
	s.ts.mu.Lock()
	n := s.ts.attempts + 1
	s.ts.mu.Unlock()
	if e := s.ts.refuse(cmd, n); e != nil {
		if cmd != "DATA" {
			// A mail refused before DATA counts as an attempt too.
			s.ts.mu.Lock()
			s.ts.attempts++
			s.ts.mu.Unlock()
		}
		return e
	}
	return nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.auth && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return s.refuse("MAIL")
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := s.refuse("RCPT"); err != nil {
		return err
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := s.refuse("DATA"); err != nil {
		s.ts.mu.Lock()
		s.ts.attempts++
		s.ts.mu.Unlock()
		return err
	}
	_, encrypted := s.conn.TLSConnectionState()
	s.ts.mu.Lock()
	defer s.ts.mu.Unlock()
	s.ts.attempts++
	s.ts.mails = append(s.ts.mails, received{From: s.from, To: s.to, Data: data, TLS: encrypted, User: s.user})
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// testCA is a CA and a server certificate it signed for 127.0.0.1 and
// localhost.
type testCA struct {
	caFile string      // the CA's certificate, PEM
	server *tls.Config // the server's certificate
}

func newTestCA(t *testing.T) testCA {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "auditrelay test CA"},
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
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return testCA{caFile: caFile, server: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion: tls.VersionTLS12}}
}

// logBuffer collects a sink's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
