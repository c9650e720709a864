package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"sync"

	gomail "github.com/wneessen/go-mail"

	"github.com/auditrelay/auditrelay/pipeline"
)

// refusal is a 5xx answer to MAIL, RCPT or DATA: the server will never
// take this mail, so its events go to the dead letter.
type refusal struct{ err error }

func (r *refusal) Error() string { return "the server refused the mail for good: " + r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

// smtpSend delivers msg over one connection: connect (TLS from the first
// byte with implicit), EHLO, STARTTLS (required with starttls), AUTH,
// MAIL, RCPT for every recipient, DATA, QUIT. It returns nil only once the
// server answered 250 to the end of DATA. A recipient refused is the whole
// mail refused: no DATA is sent. ctx ends the exchange by closing the
// connection; each step is bounded by timeout.
func (s *Sink) smtpSend(ctx context.Context, msg *gomail.Msg) error {
	var (
		mu   sync.Mutex
		conn net.Conn
	)
	dial := func(dctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(dctx, network, s.cfg.addr())
		if err != nil {
			return nil, err
		}
		if s.cfg.Security == "implicit" {
			tc := tls.Client(c, s.tls)
			if err := tc.HandshakeContext(dctx); err != nil {
				_ = c.Close()
				return nil, fmt.Errorf("TLS handshake: %w", err)
			}
			c = tc
		}
		mu.Lock()
		conn = c
		mu.Unlock()
		return c, nil
	}
	opts := []gomail.Option{gomail.WithPort(s.cfg.port()), gomail.WithTimeout(s.cfg.Timeout), gomail.WithHELO(s.cfg.helo()),
		gomail.WithDialContextFunc(dial), gomail.WithoutNoop()}
	switch s.cfg.Security {
	case "implicit":
		// The dial function does the TLS; WithSSL keeps go-mail from
		// asking for STARTTLS inside it.
		opts = append(opts, gomail.WithSSL())
	case "starttls":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory), gomail.WithTLSConfig(s.tls))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.cfg.Username != "" {
		mech := map[string]gomail.SMTPAuthType{"plain": gomail.SMTPAuthPlain, "login": gomail.SMTPAuthLogin}[s.cfg.Auth]
		if s.cfg.Security == "none" {
			// Validate allowed it only with allow_insecure_auth.
			mech = map[string]gomail.SMTPAuthType{"plain": gomail.SMTPAuthPlainNoEnc, "login": gomail.SMTPAuthLoginNoEnc}[s.cfg.Auth]
		}
		opts = append(opts, gomail.WithSMTPAuth(mech), gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password.Value()))
	}
	client, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return pipeline.Permanent(fmt.Errorf("smtp %s: %w", s.cfg.addr(), err))
	}
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if conn != nil {
			_ = conn.Close()
		}
	})
	defer stop()
	sc, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", s.cfg.addr(), sessionError(err))
	}
	defer func() {
		if client.CloseWithSMTPClient(sc) != nil {
			_ = sc.Close()
		}
	}()
	err = client.SendWithSMTPClient(sc, msg)
	if msg.IsDelivered() {
		// 250 after DATA: what follows (RSET, QUIT) does not matter.
		return nil
	}
	if err == nil {
		err = errors.New("the server did not confirm the mail")
	}
	return fmt.Errorf("smtp %s: %w", s.cfg.addr(), sendError(err))
}

// sessionError classifies a failure before any mail was offered: a 5xx
// answer (to EHLO, AUTH), a refused login, a server without STARTTLS or
// AUTH, and a certificate that does not verify need a person and are
// permanent; a 4xx answer and a network failure are retried.
func sessionError(err error) error {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		if tp.Code >= 500 {
			return pipeline.Permanent(err)
		}
		return err
	}
	var (
		cv   *tls.CertificateVerificationError
		host x509.HostnameError
		ca   x509.UnknownAuthorityError
		alrt tls.AlertError
		hdr  tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &cv), errors.As(err, &host), errors.As(err, &ca), errors.As(err, &alrt), errors.As(err, &hdr):
		return pipeline.Permanent(err)
	case errors.Is(err, gomail.ErrPlainAuthNotSupported), errors.Is(err, gomail.ErrLoginAuthNotSupported):
		return pipeline.Permanent(fmt.Errorf("%w (set auth to a mechanism the server offers)", err))
	case strings.Contains(err.Error(), "does not support STARTTLS"):
		return pipeline.Permanent(fmt.Errorf("%w (security: starttls requires it; use implicit for a TLS port)", err))
	case strings.Contains(err.Error(), "does not support SMTP AUTH"):
		return pipeline.Permanent(fmt.Errorf("%w (drop username, or use the server's submission port)", err))
	}
	return err
}

// sendError classifies a failed mail: a 5xx answer refuses it for good; a
// 4xx answer or a broken connection is retried (it may have been
// delivered when the connection broke after the data: the retry may then
// send it twice, never lose it).
func sendError(err error) error {
	var se *gomail.SendError
	if errors.As(err, &se) && se.ErrorCode() >= 500 {
		return &refusal{err}
	}
	return err
}
