//go:build !lambdacomponents.custom || (lambdacomponents.custom && (lambdacomponents.all || lambdacomponents.exporter.all || lambdacomponents.exporter.awsxray))

package main

import "lambdacollector/internal/awsxrayexporter"

func init() {
	defaultRegistry.addExporter(awsxrayexporter.NewFactory(), "lambdacollector/internal/awsxrayexporter")
}
