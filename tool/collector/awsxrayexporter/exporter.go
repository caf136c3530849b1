package awsxrayexporter

import (
	"context"
	"errors"
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/xray"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
)

// maxDocumentsPerCall bounds the segment documents sent in one
// PutTraceSegments call.
const maxDocumentsPerCall = 50

// putTraceSegmentsAPI is the part of the X-Ray client the exporter uses.
type putTraceSegmentsAPI interface {
	PutTraceSegments(ctx context.Context, in *xray.PutTraceSegmentsInput, optFns ...func(*xray.Options)) (*xray.PutTraceSegmentsOutput, error)
}

type xrayExporter struct {
	cfg    *Config
	logger *zap.Logger
	client putTraceSegmentsAPI
	conv   converter
	// clientOptions are extra X-Ray client options (tests).
	clientOptions []func(*xray.Options)
}

func newXrayExporter(cfg *Config, set exporter.Settings) *xrayExporter {
	return &xrayExporter{
		cfg:    cfg,
		logger: set.Logger,
		conv:   newConverter(cfg, set.Logger),
	}
}

// start builds the X-Ray client with the region and credentials Lambda gives
// the extension in its environment (see credentials.go).
func (e *xrayExporter) start(_ context.Context, _ component.Host) error {
	region, err := resolveRegion(e.cfg.Region, os.Getenv)
	if err != nil {
		return err
	}
	creds, err := environmentCredentials(os.Getenv)
	if err != nil {
		return err
	}
	opts := xray.Options{Region: region, Credentials: creds}
	if e.cfg.Endpoint != "" {
		opts.BaseEndpoint = aws.String(e.cfg.Endpoint)
	}
	e.client = xray.New(opts, e.clientOptions...)
	return nil
}

// pushTraces sends one document per span, 50 per PutTraceSegments call. A
// call that fails with a retryable error is retried by the exporter helper
// with exactly its own spans (consumererror.NewTraces); a call X-Ray rejects
// for good is logged and dropped without making the other calls' failures
// permanent.
func (e *xrayExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	docs := e.conv.documents(td)
	var retryable, permanent []error
	var retry []document
	for start := 0; start < len(docs); start += maxDocumentsPerCall {
		batch := docs[start:min(start+maxDocumentsPerCall, len(docs))]
		raw := make([]string, len(batch))
		for i, d := range batch {
			raw[i] = d.json
		}
		out, err := e.client.PutTraceSegments(ctx, &xray.PutTraceSegmentsInput{TraceSegmentDocuments: raw})
		if err != nil {
			if err = classify(err); consumererror.IsPermanent(err) {
				permanent = append(permanent, err)
				e.logger.Error("X-Ray rejected a PutTraceSegments call; its segments are dropped",
					zap.Int("documents", len(batch)), zap.Error(err))
			} else {
				retryable = append(retryable, err)
				retry = append(retry, batch...)
			}
			continue
		}
		for _, u := range out.UnprocessedTraceSegments {
			e.logger.Warn("X-Ray did not accept a segment",
				zap.String("id", aws.ToString(u.Id)),
				zap.String("error_code", aws.ToString(u.ErrorCode)),
				zap.String("message", aws.ToString(u.Message)))
		}
	}
	if len(retryable) > 0 {
		return consumererror.NewTraces(errors.Join(retryable...), spansOf(td, retry))
	}
	return errors.Join(permanent...)
}

// spansOf copies the spans behind docs (with their resource and scope) into
// a new ptrace.Traces.
func spansOf(td ptrace.Traces, docs []document) ptrace.Traces {
	out := ptrace.NewTraces()
	type key struct{ resource, scope int }
	scopes := map[key]ptrace.SpanSlice{}
	resources := map[int]ptrace.ResourceSpans{}
	for _, d := range docs {
		rs := td.ResourceSpans().At(d.resource)
		ss := rs.ScopeSpans().At(d.scope)
		outRS, ok := resources[d.resource]
		if !ok {
			outRS = out.ResourceSpans().AppendEmpty()
			rs.Resource().CopyTo(outRS.Resource())
			outRS.SetSchemaUrl(rs.SchemaUrl())
			resources[d.resource] = outRS
		}
		spans, ok := scopes[key{d.resource, d.scope}]
		if !ok {
			outSS := outRS.ScopeSpans().AppendEmpty()
			ss.Scope().CopyTo(outSS.Scope())
			outSS.SetSchemaUrl(ss.SchemaUrl())
			spans = outSS.Spans()
			scopes[key{d.resource, d.scope}] = spans
		}
		ss.Spans().At(d.span).CopyTo(spans.AppendEmpty())
	}
	return out
}

// classify marks client errors (other than throttling and timeouts) as
// permanent, so the exporter does not retry a request X-Ray will always reject.
func classify(err error) error {
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		code := respErr.HTTPStatusCode()
		if code >= 400 && code < 500 && code != http.StatusTooManyRequests && code != http.StatusRequestTimeout {
			return consumererror.NewPermanent(err)
		}
	}
	return err
}
