// Package awsxrayexporter is a small traces exporter that converts OTLP spans
// to AWS X-Ray segment documents and sends them with the X-Ray
// PutTraceSegments API. Its component type is "awsxray" and its configuration
// keys are a subset of the contrib awsxrayexporter's (which the Go module
// proxy this project builds with does not serve with its dependencies).
// A distribution lists it with NewFactory().
package awsxrayexporter

import (
	"errors"
	"fmt"
	"net/url"

	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Config configures the exporter.
type Config struct {
	// timeout: per PutTraceSegments attempt (default 5s).
	exporterhelper.TimeoutConfig `mapstructure:",squash"`
	// sending_queue: the in-memory queue that decouples the pipeline from
	// the export call (drained on shutdown).
	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	// retry_on_failure: retries of failed (non-permanent) export calls.
	BackOffConfig configretry.BackOffConfig `mapstructure:"retry_on_failure"`

	// Region is the AWS region of the X-Ray API. Empty means AWS_REGION
	// (which Lambda sets), else AWS_DEFAULT_REGION. Credentials always come
	// from the environment (credentials.go).
	Region string `mapstructure:"region"`
	// Endpoint overrides the X-Ray API endpoint (http:// or https:// URL).
	// Empty means the AWS default, https://xray.<region>.amazonaws.com.
	Endpoint string `mapstructure:"endpoint"`
	// IndexedAttributes lists span attributes to send as X-Ray annotations
	// (indexed, searchable); all other attributes go to metadata.
	// Resource attributes are named otel.resource.<key> here (contrib's
	// convention), e.g. "otel.resource.service.name".
	IndexedAttributes []string `mapstructure:"indexed_attributes"`
	// IndexAllAttributes sends every string, bool or numeric span attribute
	// that no other field took as an annotation, and on segments every such
	// resource attribute (as otel.resource.<key>).
	IndexAllAttributes bool `mapstructure:"index_all_attributes"`
	// AllowDotsInAnnotationKeys keeps "." in annotation keys ("app.user.id"),
	// which X-Ray accepts; false replaces it with "_" ("app_user_id") as X-Ray
	// once required. Default true, contrib's default (its feature gate
	// exporter.xray.allowDot, enabled since it went beta).
	AllowDotsInAnnotationKeys bool `mapstructure:"allow_dots_in_annotation_keys"`
	// AWSLogGroups are the CloudWatch Logs groups recorded on segments
	// (aws.cloudwatch_logs), so the console shows their logs beside the trace.
	// The resource's aws.log.group.arns / aws.log.group.names take precedence;
	// empty entries are ignored.
	AWSLogGroups []string `mapstructure:"aws_log_groups"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if c.Endpoint == "" {
		return nil
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil {
		return fmt.Errorf("endpoint: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("endpoint must be an http:// or https:// URL, or empty for the AWS default")
	}
	return nil
}
