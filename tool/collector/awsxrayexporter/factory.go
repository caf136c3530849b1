package awsxrayexporter

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// typeStr is the component type used in the collector configuration.
const typeStr = "awsxray"

// Type is the component type of this exporter.
var Type = component.MustNewType(typeStr)

// NewFactory returns the factory of the awsxray exporter (traces only).
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		Type,
		createDefaultConfig,
		exporter.WithTraces(createTraces, component.StabilityLevelBeta),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		TimeoutConfig:             exporterhelper.TimeoutConfig{Timeout: 5 * time.Second},
		QueueConfig:               configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		BackOffConfig:             configretry.NewDefaultBackOffConfig(),
		AllowDotsInAnnotationKeys: true,
	}
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	c := cfg.(*Config)
	e := newXrayExporter(c, set)
	return exporterhelper.NewTraces(ctx, set, cfg, e.pushTraces,
		exporterhelper.WithStart(e.start),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(c.TimeoutConfig),
		exporterhelper.WithRetry(c.BackOffConfig),
		exporterhelper.WithQueue(c.QueueConfig),
	)
}
