//go:build !lambdacomponents.custom || (lambdacomponents.custom && (lambdacomponents.all || lambdacomponents.exporter.all || lambdacomponents.exporter.debug))

package main

import "go.opentelemetry.io/collector/exporter/debugexporter"

func init() {
	defaultRegistry.addExporter(debugexporter.NewFactory(), "go.opentelemetry.io/collector/exporter/debugexporter")
}
