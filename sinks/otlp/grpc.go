package otlp

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	kgzip "github.com/klauspost/compress/gzip"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/encoding/gzip" // decodes gzip responses
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/auditrelay/auditrelay/pipeline"
)

type grpcExporter struct {
	conn    *grpc.ClientConn
	client  plogotlp.GRPCClient
	md      metadata.MD
	timeout time.Duration
}

func newGRPCExporter(c *Config, tc *tls.Config) (*grpcExporter, error) {
	target, https, err := grpcTarget(c.Endpoint)
	if err != nil {
		return nil, err
	}
	creds := insecure.NewCredentials()
	if tc != nil || https {
		if tc == nil {
			tc = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		creds = credentials.NewTLS(tc)
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(creds), grpc.WithUserAgent("auditrelay")}
	if c.Compression == "gzip" {
		// A compressor of this connection rather than grpc's registered
		// "gzip" (the standard library's at its default level, which cost
		// more CPU than mapping the records did): the registry is
		// process-wide and can only be changed at init time.
		opts = append(opts, grpc.WithCompressor(&gzipCompressor{})) //nolint:staticcheck // supported throughout grpc 1.x
	}
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, err
	}
	e := &grpcExporter{conn: conn, client: plogotlp.NewGRPCClient(conn), md: metadata.MD{}, timeout: c.Timeout}
	for k, v := range c.Headers {
		e.md.Set(strings.ToLower(k), v.Value())
	}
	return e, nil
}

func (e *grpcExporter) export(ctx context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	if len(e.md) > 0 {
		ctx = metadata.NewOutgoingContext(ctx, e.md)
	}
	resp, err := e.client.Export(ctx, req)
	if err != nil {
		return resp, classifyGRPC(err)
	}
	return resp, nil
}

func (e *grpcExporter) close() error { return e.conn.Close() }

// gzipCompressor compresses requests at gzip's fastest level with
// klauspost/compress, reusing writers. Safe for concurrent use.
type gzipCompressor struct {
	pool sync.Pool // *kgzip.Writer
}

// Do compresses p into w.
func (c *gzipCompressor) Do(w io.Writer, p []byte) error {
	zw, _ := c.pool.Get().(*kgzip.Writer)
	if zw == nil {
		zw, _ = kgzip.NewWriterLevel(w, kgzip.BestSpeed)
	} else {
		zw.Reset(w)
	}
	defer c.pool.Put(zw)
	if _, err := zw.Write(p); err != nil {
		return err
	}
	return zw.Close()
}

// Type is the grpc-encoding name.
func (c *gzipCompressor) Type() string { return "gzip" }

// classifyGRPC applies the OTLP/gRPC rules: the transient codes are
// retryable, RESOURCE_EXHAUSTED only when the server sent RetryInfo, every
// other code is permanent. RetryInfo's delay is carried to the runner.
func classifyGRPC(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	var delay time.Duration
	hasInfo := false
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			hasInfo = true
			delay = ri.GetRetryDelay().AsDuration()
		}
	}
	err = fmt.Errorf("grpc status %s: %s", st.Code(), st.Message())
	switch st.Code() {
	case codes.Canceled, codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange, codes.Unavailable, codes.DataLoss:
		if hasInfo {
			return pipeline.RetryAfter(err, delay)
		}
		return err
	case codes.ResourceExhausted:
		if hasInfo {
			return pipeline.RetryAfter(err, delay)
		}
		if strings.Contains(st.Message(), "larger than max") {
			return fmt.Errorf("%w: %w", errTooLarge, err)
		}
	}
	return pipeline.Permanent(err)
}
