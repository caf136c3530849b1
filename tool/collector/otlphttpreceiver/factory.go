package otlphttpreceiver

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
)

// Type is the component type: "otlp", the core receiver's, so configs keep
// receivers::otlp::protocols::http as they are.
var Type = component.MustNewType("otlp")

// NewFactory returns the factory of the OTLP/HTTP traces receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		Type,
		func() component.Config { return createDefaultConfig() },
		receiver.WithTraces(createTraces, component.StabilityLevelBeta),
	)
}

func createTraces(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Traces) (receiver.Traces, error) {
	return newTracesReceiver(cfg.(*Config), set.Logger, next), nil
}
