// Package tlsconfig is the TLS section shared by every network client of
// auditrelay (Kafka, OTLP, Splunk HEC, Datadog, webhooks): the config keys,
// their validation and the *tls.Config they produce. It is not a TLS server
// configuration.
package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
)

// Config is the `tls:` section of a client.
type Config struct {
	// Enabled turns TLS on. It is implied by any other key being set.
	Enabled bool `koanf:"enabled"`
	// CAFile is a PEM bundle of CAs to trust instead of the system's. A
	// relative path is relative to the config file.
	CAFile string `koanf:"ca_file"`
	// CertFile is a PEM file of the client certificate, for mutual TLS;
	// set with key_file. A relative path is relative to the config file.
	CertFile string `koanf:"cert_file"`
	// KeyFile is a PEM file of the client certificate's private key; set
	// with cert_file. A relative path is relative to the config file.
	KeyFile string `koanf:"key_file"`
	// ServerName overrides the name checked in the server's certificate.
	ServerName string `koanf:"server_name"`
	// InsecureSkipVerify disables certificate verification. Only for
	// tests; it must be spelled out and is logged as a warning.
	InsecureSkipVerify bool `koanf:"insecure_skip_verify"`
	// MinVersion is the lowest TLS version accepted; empty means 1.2.
	// One of: 1.2, 1.3.
	MinVersion string `koanf:"min_version"`
}

// Active reports whether TLS is to be used.
func (c *Config) Active() bool {
	return c.Enabled || c.CAFile != "" || c.CertFile != "" || c.KeyFile != "" || c.ServerName != "" || c.InsecureSkipVerify
}

// Validate reports every problem, each naming its key relative to the tls
// section (the caller prefixes "tls.").
func (c *Config) Validate() error {
	var errs []error
	if (c.CertFile == "") != (c.KeyFile == "") {
		errs = append(errs, pipeline.FieldError("cert_file", "cert_file and key_file must be set together"))
	}
	switch c.MinVersion {
	case "", "1.2", "1.3":
	default:
		errs = append(errs, pipeline.FieldError("min_version", "must be 1.2 or 1.3, got %q", c.MinVersion))
	}
	for key, p := range map[string]string{"ca_file": c.CAFile, "cert_file": c.CertFile, "key_file": c.KeyFile} {
		if p == "" || !filepath.IsAbs(p) {
			// Relative paths are resolved against the config file's
			// directory by the component (Resolve) and checked by Load.
			continue
		}
		if _, err := os.Stat(p); err != nil {
			errs = append(errs, pipeline.FieldError(key, "cannot read %s: %v", p, errors.Unwrap(err)))
		}
	}
	return errors.Join(errs...)
}

// Resolve makes relative file paths relative to base.
func (c *Config) Resolve(base string) {
	for _, p := range []*string{&c.CAFile, &c.CertFile, &c.KeyFile} {
		if *p != "" && !filepath.IsAbs(*p) && base != "" {
			*p = filepath.Join(base, *p)
		}
	}
}

// HTTPTransport returns a transport for an HTTP client of a sink or
// source: the default transport's settings, this TLS configuration, and
// enough idle connections per host for concurrent batches. log is as for
// Load.
func (c *Config) HTTPTransport(log *slog.Logger) (*http.Transport, error) {
	tc, err := c.Load(log)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	tr.MaxIdleConnsPerHost = 16
	return tr, nil
}

// CheckURL reports a contradiction between this section and the URL the
// component sends to: TLS set up for an http:// URL, which would stay
// plaintext. The error names the tls key.
func (c *Config) CheckURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err == nil && u.Scheme == "http" && c.Active() {
		return errors.New("tls: is set, but the URL is http:// and would stay plaintext: use https:// or drop tls")
	}
	return nil
}

// HTTPClient returns the client of a sink, source or transform that sends
// a secret (an API key, a token, a signed body): HTTPTransport's, timeout
// per request (0: none), and no redirect followed (NoRedirect).
func (c *Config) HTTPClient(log *slog.Logger, timeout time.Duration) (*http.Client, error) {
	tr, err := c.HTTPTransport(log)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: NoRedirect}, nil
}

// NoRedirect is the redirect policy of every client that sends a secret:
// a redirect is not followed, since the request that follows it carries the
// same headers to wherever the answer points (Go drops them only on the
// way to another domain: another port of the same host gets them). The 3xx
// answer goes back to the caller, which reports it.
func NoRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Load returns the client TLS configuration, or nil when TLS is not active.
// With insecure_skip_verify it warns on log (nil: no warning), so that every
// component that turns verification off says so the same way.
func (c *Config) Load(log *slog.Logger) (*tls.Config, error) {
	if !c.Active() {
		return nil, nil
	}
	if c.InsecureSkipVerify && log != nil {
		log.Warn("TLS certificate verification is disabled (tls.insecure_skip_verify)")
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName, InsecureSkipVerify: c.InsecureSkipVerify} //nolint:gosec // opt-in, documented
	if c.MinVersion == "1.3" {
		tc.MinVersion = tls.VersionTLS13
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file: %s holds no PEM certificate", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls.cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
