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
	httpbatchtest.ValidateCases(t, valid, []httpbatchtest.ConfigCase[*Config]{
		{Name: "defaults", Mod: func(*Config) {}},
		{Name: "template topic", Mod: func(c *Config) { c.Topic = "openai.audit.{{.Type}}" }},
		{Name: "no brokers", Mod: func(c *Config) { c.Brokers = nil }, Want: []string{"brokers: must list"}},
		{Name: "bad broker", Mod: func(c *Config) { c.Brokers = []string{"localhost"} }, Want: []string{"brokers[0]: must be host:port"}},
		{Name: "no topic", Mod: func(c *Config) { c.Topic = "" }, Want: []string{"topic: must be set"}},
		{Name: "bad topic", Mod: func(c *Config) { c.Topic = "a b" }, Want: []string{"topic: invalid topic name"}},
		{Name: "bad template", Mod: func(c *Config) { c.Topic = "x.{{.Type" }, Want: []string{"topic: invalid template"}},
		{Name: "bad key", Mod: func(c *Config) { c.Key = "email" }, Want: []string{"key: must be one of"}},
		{Name: "bad header", Mod: func(c *Config) { c.Headers.Fields = []string{"type", "actor"} }, Want: []string{"headers.fields[1]"}},
		{Name: "bad compression", Mod: func(c *Config) { c.Compression = "brotli" }, Want: []string{"compression: must be"}},
		{Name: "bad acks", Mod: func(c *Config) { c.Acks = "1" }, Want: []string{"acks: must be"}},
		{Name: "small message", Mod: func(c *Config) { c.MaxMessageBytes = 10 }, Want: []string{"max_message_bytes: must be >= 1024"}},
		{Name: "message over batch", Mod: func(c *Config) { c.MaxMessageBytes = 2_000_000 }, Want: []string{"max_message_bytes: must be <= batch_max_bytes"}},
		{Name: "delivery timeout", Mod: func(c *Config) { c.DeliveryTimeout = 0 }, Want: []string{"delivery_timeout"}},
		{Name: "eos with acks leader", Mod: func(c *Config) { c.ExactlyOnce = true; c.Acks = "leader" }, Want: []string{"acks: must be all with exactly_once"}},
		{Name: "eos without prefix", Mod: func(c *Config) { c.ExactlyOnce = true; c.TransactionalIDPrefix = "" }, Want: []string{"transactional_id_prefix"}},
		{Name: "eos short timeout", Mod: func(c *Config) { c.ExactlyOnce = true; c.TransactionTimeout = time.Millisecond }, Want: []string{"transaction_timeout"}},
		{Name: "tls missing ca", Mod: func(c *Config) { c.TLS.CAFile = filepath.Join(dir, "missing.pem") }, Want: []string{"tls.ca_file: cannot read"}},
		{Name: "tls cert without key", Mod: func(c *Config) { c.TLS.CertFile = ca }, Want: []string{"tls.cert_file: cert_file and key_file must be set together"}},
		{Name: "tls bad version", Mod: func(c *Config) { c.TLS.MinVersion = "1.0" }, Want: []string{"tls.min_version"}},
		{Name: "sasl unknown", Mod: func(c *Config) { c.SASL = SASLConfig{Mechanism: "GSSAPI", Username: "u", Password: "p"} }, Want: []string{"sasl.mechanism"}},
		{Name: "sasl missing password", Mod: func(c *Config) { c.SASL = SASLConfig{Mechanism: "SCRAM-SHA-512", Username: "u"} }, Want: []string{"sasl.password: must be set"}},
		{Name: "sasl without mechanism", Mod: func(c *Config) { c.SASL = SASLConfig{Username: "u", Password: "hunter2"} }, Want: []string{"sasl.mechanism: must be set"}},
		{Name: "several at once", Mod: func(c *Config) { c.Brokers = nil; c.Key = "x"; c.Acks = "2" }, Want: []string{"brokers", "key", "acks"}},
	}, "hunter2")
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
