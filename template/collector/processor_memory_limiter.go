//go:build !lambdacomponents.custom || (lambdacomponents.custom && (lambdacomponents.all || lambdacomponents.processor.all || lambdacomponents.processor.memory_limiter))

package main

// Processor "memory_limiter": refuses data above a memory limit (core memorylimiterprocessor).

import "go.opentelemetry.io/collector/processor/memorylimiterprocessor"

func init() {
	defaultRegistry.addProcessor(memorylimiterprocessor.NewFactory(), "go.opentelemetry.io/collector/processor/memorylimiterprocessor")
}
