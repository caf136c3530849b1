//go:build !lambdacomponents.custom || (lambdacomponents.custom && (lambdacomponents.all || lambdacomponents.processor.all || lambdacomponents.processor.batch))

package main

// Processor "batch": batches telemetry before export (core batchprocessor).

import "go.opentelemetry.io/collector/processor/batchprocessor"

func init() {
	defaultRegistry.addProcessor(batchprocessor.NewFactory(), "go.opentelemetry.io/collector/processor/batchprocessor")
}
