//go:build !lambdacomponents.custom || (lambdacomponents.custom && (lambdacomponents.all || lambdacomponents.exporter.all || lambdacomponents.exporter.awsxray))

package main

// Exporter "awsxray": X-Ray segment documents via PutTraceSegments (this
// module's internal/awsxrayexporter; the contrib awsxrayexporter is not
// served by the module proxy).

import "lambdacollector/internal/awsxrayexporter"

func init() {
	defaultRegistry.addExporter(awsxrayexporter.NewFactory(), "lambdacollector/internal/awsxrayexporter")
}
