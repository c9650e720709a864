package tlsconfig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate and its key as PEM files.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir)
	for _, tc := range []struct {
		name string
		c    Config
		want string // "" = valid
	}{
		{"empty is valid and inactive", Config{}, ""},
		{"full", Config{CAFile: cert, CertFile: cert, KeyFile: key, ServerName: "x", MinVersion: "1.3"}, ""},
		{"cert without key", Config{CertFile: cert}, "cert_file: cert_file and key_file must be set together"},
		{"bad min version", Config{MinVersion: "1.1"}, "min_version: must be 1.2 or 1.3"},
		{"missing absolute ca", Config{CAFile: filepath.Join(dir, "nope.pem")}, "ca_file: cannot read"},
		{"relative paths wait for Resolve", Config{CAFile: "ca.pem"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			if tc.want == "" && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir)
	if tc, err := (&Config{}).Load(nil); tc != nil || err != nil {
		t.Fatalf("inactive config loaded %v, %v", tc, err)
	}
	c := &Config{CAFile: "cert.pem", CertFile: "cert.pem", KeyFile: "key.pem", ServerName: "localhost", MinVersion: "1.3"}
	c.Resolve(dir)
	if c.CAFile != cert || c.KeyFile != key {
		t.Fatalf("Resolve: %+v", c)
	}
	tc, err := c.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if tc.RootCAs == nil || len(tc.Certificates) != 1 || tc.MinVersion != tls.VersionTLS13 || tc.ServerName != "localhost" || tc.InsecureSkipVerify {
		t.Fatalf("loaded %+v", tc)
	}
	tr, err := c.HTTPTransport(nil)
	if err != nil || tr.TLSClientConfig == nil {
		t.Fatalf("HTTPTransport: %v", err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	if _, err := (&Config{CAFile: notPEM}).Load(nil); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Fatalf("err = %v", err)
	}
	if _, err := (&Config{CertFile: cert, KeyFile: cert}).Load(nil); err == nil {
		t.Fatal("a certificate as key loaded")
	}
}

// TestInsecureWarns: turning verification off is said once, by Load, for
// every component that loads its TLS settings; verification on says nothing.
func TestInsecureWarns(t *testing.T) {
	for _, insecure := range []bool{true, false} {
		var buf strings.Builder
		log := slog.New(slog.NewTextHandler(&buf, nil))
		if _, err := (&Config{InsecureSkipVerify: insecure, ServerName: "x"}).HTTPTransport(log); err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(buf.String(), "tls.insecure_skip_verify"); got != map[bool]int{true: 1, false: 0}[insecure] {
			t.Fatalf("insecure_skip_verify=%v: %d warnings in %q", insecure, got, buf.String())
		}
	}
}
