package awsxrayexporter

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
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
		conv:   newConverter(cfg),
	}
}

// start builds the X-Ray client from the AWS SDK default configuration
// (credentials and region from the environment, as Lambda provides them).
func (e *xrayExporter) start(ctx context.Context, _ component.Host) error {
	var opts []func(*awsconfig.LoadOptions) error
	if e.cfg.Region != "" {
		opts = append(opts, awsconfig.WithRegion(e.cfg.Region))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return fmt.Errorf("loading AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		return errors.New("no AWS region: set the exporter's region or AWS_REGION")
	}
	endpoint := e.cfg.Endpoint
	clientOpts := append([]func(*xray.Options){func(o *xray.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}}, e.clientOptions...)
	e.client = xray.NewFromConfig(awsCfg, clientOpts...)
	return nil
}

func (e *xrayExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	docs := e.conv.documents(td)
	if len(docs) == 0 {
		return nil
	}
	var errs []error
	for start := 0; start < len(docs); start += maxDocumentsPerCall {
		end := min(start+maxDocumentsPerCall, len(docs))
		out, err := e.client.PutTraceSegments(ctx, &xray.PutTraceSegmentsInput{TraceSegmentDocuments: docs[start:end]})
		if err != nil {
			errs = append(errs, classify(err))
			continue
		}
		for _, u := range out.UnprocessedTraceSegments {
			e.logger.Warn("X-Ray did not accept a segment",
				zap.String("id", aws.ToString(u.Id)),
				zap.String("error_code", aws.ToString(u.ErrorCode)),
				zap.String("message", aws.ToString(u.Message)))
		}
	}
	return errors.Join(errs...)
}

// classify marks client errors (other than throttling) as permanent, so the
// exporter does not retry a request X-Ray will always reject.
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
