//go:build !lambdacomponents.custom || (lambdacomponents.custom && (lambdacomponents.all || lambdacomponents.receiver.all || lambdacomponents.receiver.otlp))

package main

import "go.opentelemetry.io/collector/receiver/otlpreceiver"

func init() {
	defaultRegistry.addReceiver(otlpreceiver.NewFactory(), "go.opentelemetry.io/collector/receiver/otlpreceiver")
}
