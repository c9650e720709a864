package kafka

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditrelay/auditrelay/pipeline"
	"github.com/auditrelay/auditrelay/sinks/httpbatch/httpbatchtest"
)

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("not a pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	valid := func() *Config { return testConfig("127.0.0.1:9092", "audit") }
	for _, tc := range []struct {
		name   string
		modify func(c *Config)
		want   []string // substrings, each naming a key; empty: valid
	}{
		{"defaults", func(*Config) {}, nil},
		{"template topic", func(c *Config) { c.Topic = "openai.audit.{{.Type}}" }, nil},
		{"no brokers", func(c *Config) { c.Brokers = nil }, []string{"brokers: must list"}},
		{"bad broker", func(c *Config) { c.Brokers = []string{"localhost"} }, []string{"brokers[0]: must be host:port"}},
		{"no topic", func(c *Config) { c.Topic = "" }, []string{"topic: must be set"}},
		{"bad topic", func(c *Config) { c.Topic = "a b" }, []string{"topic: invalid topic name"}},
		{"bad template", func(c *Config) { c.Topic = "x.{{.Type" }, []string{"topic: invalid template"}},
		{"bad key", func(c *Config) { c.Key = "email" }, []string{"key: must be one of"}},
		{"bad header", func(c *Config) { c.Headers.Fields = []string{"type", "actor"} }, []string{"headers.fields[1]"}},
		{"bad compression", func(c *Config) { c.Compression = "brotli" }, []string{"compression: must be"}},
		{"bad acks", func(c *Config) { c.Acks = "1" }, []string{"acks: must be"}},
		{"small message", func(c *Config) { c.MaxMessageBytes = 10 }, []string{"max_message_bytes: must be >= 1024"}},
		{"message over batch", func(c *Config) { c.MaxMessageBytes = 2_000_000 }, []string{"max_message_bytes: must be <= batch_max_bytes"}},
		{"delivery timeout", func(c *Config) { c.DeliveryTimeout = 0 }, []string{"delivery_timeout"}},
		{"eos with acks leader", func(c *Config) { c.ExactlyOnce = true; c.Acks = "leader" }, []string{"acks: must be all with exactly_once"}},
		{"eos without prefix", func(c *Config) { c.ExactlyOnce = true; c.TransactionalIDPrefix = "" }, []string{"transactional_id_prefix"}},
		{"eos short timeout", func(c *Config) { c.ExactlyOnce = true; c.TransactionTimeout = time.Millisecond }, []string{"transaction_timeout"}},
		{"tls missing ca", func(c *Config) { c.TLS.CAFile = filepath.Join(dir, "missing.pem") }, []string{"tls.ca_file: cannot read"}},
		{"tls cert without key", func(c *Config) { c.TLS.CertFile = ca }, []string{"tls.cert_file: cert_file and key_file must be set together"}},
		{"tls bad version", func(c *Config) { c.TLS.MinVersion = "1.0" }, []string{"tls.min_version"}},
		{"sasl unknown", func(c *Config) { c.SASL = SASLConfig{Mechanism: "GSSAPI", Username: "u", Password: "p"} }, []string{"sasl.mechanism"}},
		{"sasl missing password", func(c *Config) { c.SASL = SASLConfig{Mechanism: "SCRAM-SHA-512", Username: "u"} }, []string{"sasl.password: must be set"}},
		{"sasl without mechanism", func(c *Config) { c.SASL = SASLConfig{Username: "u", Password: "hunter2"} }, []string{"sasl.mechanism: must be set"}},
		{"several at once", func(c *Config) { c.Brokers = nil; c.Key = "x"; c.Acks = "2" }, []string{"brokers", "key", "acks"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.modify(c)
			err := c.Validate()
			httpbatchtest.NamesKeys(t, err, tc.want)
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error shows the SASL password: %v", err)
			}
		})
	}
}

func TestTLSLoadErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "ca.pem")
	os.WriteFile(bad, []byte("garbage"), 0o600)
	c := testConfig("127.0.0.1:9092", "audit")
	c.TLS.CAFile = bad
	if _, err := New(testSettings("k"), c); err == nil || !strings.Contains(err.Error(), "tls.ca_file") {
		t.Fatalf("New with a CA file holding no PEM = %v, want a tls.ca_file error", err)
	}
}

func TestFactories(t *testing.T) {
	f := NewFactory()
	if f.Type() != "kafka" || f.Kind() != pipeline.KindSink {
		t.Fatalf("sink factory is %s %q", f.Kind(), f.Type())
	}
	cfg := f.DefaultConfig().(*Config)
	cfg.Brokers, cfg.Topic = []string{"127.0.0.1:1"}, "audit"
	if err := cfg.Validate(); err != nil {
		t.Fatalf("defaults plus brokers and topic: %v", err)
	}
	s, err := f.CreateSink(testSettings("k"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	sf := NewStoreFactory()
	sc := sf.DefaultConfig().(*StoreConfig)
	if err := sc.Validate(); err == nil || !strings.Contains(err.Error(), "sink: must name") {
		t.Fatalf("store config without sink: %v", err)
	}
	sc.Sink = "k"
	if _, err := sf.CreateStore(testSettings("cp"), sc, pipeline.StoreHost{Sinks: map[string]pipeline.Sink{"k": s}}); err != nil {
		t.Fatal(err)
	}
	sc.Sink = "other"
	if _, err := sf.CreateStore(testSettings("cp"), sc, pipeline.StoreHost{Sinks: map[string]pipeline.Sink{"k": s}}); err == nil {
		t.Fatal("store naming a missing sink was created")
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	c := testConfig("127.0.0.1:9092", "audit")
	c.SASL = SASLConfig{Mechanism: "PLAIN", Username: "u", Password: "hunter2"}
	for _, s := range []string{c.SASL.Password.String(), strings.Join([]string{string(must(c.SASL.Password.MarshalText()))}, "")} {
		if strings.Contains(s, "hunter2") {
			t.Fatalf("secret printed: %s", s)
		}
	}
}

func must(b []byte, _ error) []byte { return b }
