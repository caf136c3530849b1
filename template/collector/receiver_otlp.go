//go:build !lambdacomponents.custom || (lambdacomponents.custom && (lambdacomponents.all || lambdacomponents.receiver.all || lambdacomponents.receiver.otlp))

package main

// Receiver "otlp": OTLP over gRPC and HTTP (core otlpreceiver).

import "go.opentelemetry.io/collector/receiver/otlpreceiver"

func init() {
	defaultRegistry.addReceiver(otlpreceiver.NewFactory(), "go.opentelemetry.io/collector/receiver/otlpreceiver")
}
