package kafka

import (
	"crypto/tls"
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// connOpts returns the options every client of the sink shares: brokers,
// client id, TLS, SASL and logging.
func connOpts(c *Config, tc *tls.Config, log *slog.Logger) []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.Brokers...),
		kgo.ClientID(c.ClientID),
		kgo.WithLogger(kgoLogger{log}),
	}
	if tc != nil {
		opts = append(opts, kgo.DialTLSConfig(tc.Clone()))
	}
	if m := saslMechanism(&c.SASL); m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	return opts
}

func saslMechanism(s *SASLConfig) sasl.Mechanism {
	switch s.Mechanism {
	case "PLAIN":
		return plain.Auth{User: s.Username, Pass: s.Password.Value()}.AsMechanism()
	case "SCRAM-SHA-256":
		return scram.Auth{User: s.Username, Pass: s.Password.Value()}.AsSha256Mechanism()
	case "SCRAM-SHA-512":
		return scram.Auth{User: s.Username, Pass: s.Password.Value()}.AsSha512Mechanism()
	}
	return nil
}

// producerOpts returns the producing options of the sink's config.
func producerOpts(c *Config) []kgo.Opt {
	codec, _ := compressionCodec(c.Compression)
	opts := []kgo.Opt{
		kgo.ProducerBatchCompression(codec),
		kgo.ProducerLinger(c.Linger),
		kgo.ProducerBatchMaxBytes(c.BatchMaxBytes),
		kgo.MaxBufferedRecords(c.MaxBufferedRecords),
		kgo.RecordDeliveryTimeout(c.DeliveryTimeout),
		// The sink checks that topics exist before producing; an unknown
		// topic after that is a deleted topic, which must fail, not hang.
		kgo.UnknownTopicRetries(4),
	}
	switch c.Acks {
	case "leader":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case "none":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	default:
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	}
	return opts
}

func compressionCodec(s string) (kgo.CompressionCodec, error) {
	switch s {
	case "none", "":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.NoCompression(), fmt.Errorf("must be none, gzip, snappy, lz4 or zstd; got %q", s)
}

// kgoLogger hands franz-go's warnings and errors to the component's
// logger. franz-go never logs SASL passwords.
type kgoLogger struct{ l *slog.Logger }

func (kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	switch level {
	case kgo.LogLevelError:
		k.l.Error("kafka client: "+msg, keyvals...)
	case kgo.LogLevelWarn:
		k.l.Warn("kafka client: "+msg, keyvals...)
	default:
		k.l.Debug("kafka client: "+msg, keyvals...)
	}
}

// clientOpts returns the options that connect a franz-go client to the
// sink's cluster the way the sink's own clients connect (brokers, client id,
// TLS, SASL, logging), for the cursor store and the coordinator of replicas
// that share the sink's cluster. The caller owns the returned slice.
func (s *Sink) clientOpts() []kgo.Opt { return connOpts(s.cfg, s.tc, s.log) }
