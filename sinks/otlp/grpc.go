package otlp

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/auditrelay/auditrelay/pipeline"
)

type grpcExporter struct {
	conn    *grpc.ClientConn
	client  plogotlp.GRPCClient
	md      metadata.MD
	timeout time.Duration
	callOpt []grpc.CallOption
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
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(creds), grpc.WithUserAgent("auditrelay"))
	if err != nil {
		return nil, err
	}
	e := &grpcExporter{conn: conn, client: plogotlp.NewGRPCClient(conn), md: metadata.MD{}, timeout: c.Timeout}
	for k, v := range c.Headers {
		e.md.Set(strings.ToLower(k), v.Value())
	}
	if c.Compression == "gzip" {
		e.callOpt = append(e.callOpt, grpc.UseCompressor(gzip.Name))
	}
	return e, nil
}

func (e *grpcExporter) export(ctx context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	if len(e.md) > 0 {
		ctx = metadata.NewOutgoingContext(ctx, e.md)
	}
	resp, err := e.client.Export(ctx, req, e.callOpt...)
	if err != nil {
		return resp, classifyGRPC(err)
	}
	return resp, nil
}

func (e *grpcExporter) close() error { return e.conn.Close() }

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
