//go:build !lambdacomponents.custom || (lambdacomponents.custom && (lambdacomponents.all || lambdacomponents.exporter.all || lambdacomponents.exporter.debug))

package main

// Exporter "debug": writes telemetry to the log (core debugexporter).

import "go.opentelemetry.io/collector/exporter/debugexporter"

func init() {
	defaultRegistry.addExporter(debugexporter.NewFactory(), "go.opentelemetry.io/collector/exporter/debugexporter")
}
