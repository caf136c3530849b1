// Package lambdaext runs an OpenTelemetry Collector distribution as an AWS
// Lambda extension.
//
// A distribution's main package lists its components and hands them to Main:
//
//	func main() { lambdaext.Main(components) }
//
//	func components() (otelcol.Factories, error) {
//		return lambdaext.Factories(lambdaext.Components{
//			Receivers: []lambdaext.Receiver{
//				{Factory: otlphttpreceiver.NewFactory(), Module: "lambdaotelxray/otlphttpreceiver"},
//			},
//			...
//		})
//	}
//
// Started without arguments (which is how Lambda starts every executable in
// /opt/extensions) the binary registers with the Lambda Extensions API, runs
// the collector in-process and follows the Lambda lifecycle (see extension.go).
//
// Started with arguments it is the standard collector command, so
// "collector validate --config=file:/path/config.yaml" and
// "collector components" work as they do for any collector distribution.
package lambdaext

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/httpprovider"
	"go.opentelemetry.io/collector/confmap/provider/httpsprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/otelcol"
	"go.uber.org/zap"
)

const (
	// configURIEnv names the environment variable that points at the
	// collector configuration.
	configURIEnv = "OPENTELEMETRY_COLLECTOR_CONFIG_URI"
	// defaultConfigURI is used when configURIEnv is unset or empty.
	defaultConfigURI = "/opt/collector-config/config.yaml"

	buildDescription = "OpenTelemetry Collector for AWS Lambda"
	buildVersion     = "lambda"
)

// uriScheme matches a confmap URI scheme ("file:", "env:", "yaml:", "https:", ...).
var uriScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]+:`)

// factoriesFunc returns the components compiled into the distribution
// (otelcol.CollectorSettings.Factories).
type factoriesFunc = func() (otelcol.Factories, error)

// Main runs the distribution and exits the process: without arguments as a
// Lambda extension, with arguments as the standard collector command
// (validate, components, --config=...). components is usually a function
// returning Factories(Components{...}).
func Main(components func() (otelcol.Factories, error)) {
	name := extensionName()
	if len(os.Args) > 1 {
		os.Exit(runCommand(name, components, os.Args[1:]))
	}
	os.Exit(runExtension(name, components))
}

// runCommand runs the standard collector CLI (validate, components, ...).
func runCommand(name string, factories factoriesFunc, args []string) int {
	if args[0] == "validate" {
		// Validation never needs EC2 instance metadata, but the AWS SDK
		// default credential chain (used by sigv4auth's config validation)
		// would probe it on a build machine without AWS credentials. Turn
		// that off unless the caller decided otherwise.
		if _, set := os.LookupEnv("AWS_EC2_METADATA_DISABLED"); !set {
			_ = os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
		}
	}
	cmd := otelcol.NewCommand(collectorSettings(name, configURI(), factories))
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		// cobra has already printed "Error: ..." to stderr.
		return 1
	}
	return 0
}

// extensionName is the name the extension registers with: the base name of
// the executable, which Lambda requires to match the file in /opt/extensions.
func extensionName() string {
	if len(os.Args) == 0 || os.Args[0] == "" {
		return "collector"
	}
	return filepath.Base(os.Args[0])
}

// configURI returns the configuration location from the environment.
func configURI() string {
	return normalizeConfigURI(os.Getenv(configURIEnv))
}

// normalizeConfigURI turns a bare path into a file: URI and leaves URIs with a
// scheme (file:, env:, yaml:, http:, https:) untouched; empty means
// defaultConfigURI.
func normalizeConfigURI(uri string) string {
	if uri == "" {
		uri = defaultConfigURI
	}
	if uriScheme.MatchString(uri) {
		return uri
	}
	return "file:" + uri
}

// collectorSettings returns the settings shared by the extension and the CLI.
func collectorSettings(name, uri string, factories factoriesFunc) otelcol.CollectorSettings {
	return otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{
			Command:     name,
			Description: buildDescription,
			Version:     buildVersion,
		},
		Factories: factories,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				URIs: []string{uri},
				ProviderFactories: []confmap.ProviderFactory{
					fileprovider.NewFactory(),
					envprovider.NewFactory(),
					yamlprovider.NewFactory(),
					httpprovider.NewFactory(),
					httpsprovider.NewFactory(),
				},
				DefaultScheme: "env",
			},
		},
		// Tag every collector log line so a reader of the function's
		// CloudWatch log stream can tell it comes from this extension.
		LoggingOptions: []zap.Option{zap.Fields(zap.String("lambda_extension", name))},
	}
}

// logf writes one line of the extension's own lifecycle log to stderr, which
// Lambda forwards to CloudWatch Logs.
func logf(name, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s] "+format+"\n", append([]any{name}, args...)...)
}
