//go:build !lambdacomponents.custom || (lambdacomponents.custom && (lambdacomponents.all || lambdacomponents.exporter.all || lambdacomponents.exporter.otlphttp))

package main

import "go.opentelemetry.io/collector/exporter/otlphttpexporter"

func init() {
	defaultRegistry.addExporter(otlphttpexporter.NewFactory(), "go.opentelemetry.io/collector/exporter/otlphttpexporter")
}
