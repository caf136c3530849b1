//go:build !lambdacomponents.custom || (lambdacomponents.custom && (lambdacomponents.all || lambdacomponents.extension.all || lambdacomponents.extension.sigv4auth))

package main

// Extension "sigv4auth": signs exporter requests with AWS SigV4 (contrib sigv4authextension).

import "github.com/open-telemetry/opentelemetry-collector-contrib/extension/sigv4authextension"

func init() {
	defaultRegistry.addExtension(sigv4authextension.NewFactory(), "github.com/open-telemetry/opentelemetry-collector-contrib/extension/sigv4authextension")
}
