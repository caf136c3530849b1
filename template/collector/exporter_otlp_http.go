//go:build !lambdacomponents.custom || (lambdacomponents.custom && (lambdacomponents.all || lambdacomponents.exporter.all || lambdacomponents.exporter.otlp_http || lambdacomponents.exporter.otlphttp))

package main

// Exporter "otlp_http": OTLP over HTTP (core otlphttpexporter). Since
// v0.165.0 the canonical type is "otlp_http"; the old type "otlphttp" still
// works as a deprecated alias (the collector logs a warning), so both tags
// select this file. See exporter_otlphttp.go.

import "go.opentelemetry.io/collector/exporter/otlphttpexporter"

func init() {
	defaultRegistry.addExporter(otlphttpexporter.NewFactory(), "go.opentelemetry.io/collector/exporter/otlphttpexporter")
}
