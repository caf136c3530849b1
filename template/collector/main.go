// Command collector is this service's OpenTelemetry Collector, which Lambda
// runs as an extension (/opt/extensions/collector). Its components are listed
// in components.go; the extension lifecycle comes from the lambdaotelxray
// module that the pinned lambda-otel-xray tool ships (see README.md).
package main

import "lambdaotelxray/lambdaext"

func main() { lambdaext.Main(components) }
