//go:build !lambdacomponents.custom || (lambdacomponents.custom && (lambdacomponents.all || lambdacomponents.processor.all || lambdacomponents.processor.batch))

package main

import "go.opentelemetry.io/collector/processor/batchprocessor"

func init() {
	defaultRegistry.addProcessor(batchprocessor.NewFactory(), "go.opentelemetry.io/collector/processor/batchprocessor")
}
