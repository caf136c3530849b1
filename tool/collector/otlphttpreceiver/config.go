// Package otlphttpreceiver is an OTLP/HTTP traces receiver: the function's
// OpenTelemetry SDK posts its spans to it on localhost. Its component type is
// "otlp" and its settings are those of the core otlp receiver's
// protocols::http that matter on loopback (endpoint, traces_url_path,
// max_request_body_size, read_header_timeout, idle_timeout), so a config
// written for the core receiver's HTTP protocol works unchanged.
//
// It exists because the core receiver always compiles in its gRPC server
// (about 5 MB of a Lambda extension's 23 MB, mapped at every cold start)
// although the function never speaks gRPC. It serves OTLP/HTTP as the
// specification describes it: binary protobuf and JSON bodies, gzip and
// deflate content encodings, 200 with partial success, 400 for data that can
// never be accepted, 503 when the pipeline may accept it later, and a
// google.rpc.Status body on errors.
package otlphttpreceiver

import (
	"errors"
	"fmt"
	"net"
	"path"
	"sort"
	"time"
)

const (
	defaultEndpoint           = "localhost:4318"
	defaultTracesURLPath      = "/v1/traces"
	defaultMaxRequestBodySize = 20 << 20
	defaultReadHeaderTimeout  = 10 * time.Second
	defaultIdleTimeout        = time.Minute
)

// Config is the receiver's configuration (receivers::otlp).
type Config struct {
	Protocols Protocols `mapstructure:"protocols"`
	// Keys of the core receiver this one does not have, kept to be reported
	// by Validate with what to do instead of a bare "invalid keys".
	Unsupported map[string]any `mapstructure:",remain"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Protocols is receivers::otlp::protocols: HTTP only.
type Protocols struct {
	HTTP        HTTPConfig     `mapstructure:"http"`
	Unsupported map[string]any `mapstructure:",remain"`
}

// HTTPConfig is receivers::otlp::protocols::http.
type HTTPConfig struct {
	// Endpoint is the host:port to listen on (default localhost:4318).
	Endpoint string `mapstructure:"endpoint"`
	// TracesURLPath is the path spans are posted to (default /v1/traces).
	TracesURLPath string `mapstructure:"traces_url_path"`
	// MaxRequestBodySize bounds a request's body in bytes, as received and
	// again once decompressed (default 20 MiB).
	MaxRequestBodySize int64 `mapstructure:"max_request_body_size"`
	// ReadHeaderTimeout bounds reading a request's headers (default 10s).
	ReadHeaderTimeout time.Duration `mapstructure:"read_header_timeout"`
	// IdleTimeout closes a keep-alive connection idle this long (default 1m).
	IdleTimeout time.Duration  `mapstructure:"idle_timeout"`
	Unsupported map[string]any `mapstructure:",remain"`
}

// tracesPath is TracesURLPath made absolute ("v1/traces" is "/v1/traces"), as
// the core receiver reads it.
func (h *HTTPConfig) tracesPath() string {
	if path.IsAbs(h.TracesURLPath) {
		return h.TracesURLPath
	}
	return "/" + h.TracesURLPath
}

func createDefaultConfig() *Config {
	return &Config{Protocols: Protocols{HTTP: HTTPConfig{
		Endpoint:           defaultEndpoint,
		TracesURLPath:      defaultTracesURLPath,
		MaxRequestBodySize: defaultMaxRequestBodySize,
		ReadHeaderTimeout:  defaultReadHeaderTimeout,
		IdleTimeout:        defaultIdleTimeout,
	}}}
}

const unsupportedHint = "this collector's otlp receiver (lambdaotelxray/otlphttpreceiver) serves OTLP/HTTP traces " +
	"on localhost, which is what the function's SDK sends. Remove the setting, or list the core receiver " +
	"(go.opentelemetry.io/collector/receiver/otlpreceiver) in collector/components.go instead of this one"

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	unsupported := func(section string, keys map[string]any) {
		for _, key := range sortedKeys(keys) {
			errs = append(errs, fmt.Errorf("%s%s is not supported: %s", section, key, unsupportedHint))
		}
	}
	unsupported("", c.Unsupported)
	unsupported("protocols::", c.Protocols.Unsupported)
	h := &c.Protocols.HTTP
	unsupported("protocols::http::", h.Unsupported)
	if _, _, err := net.SplitHostPort(h.Endpoint); err != nil {
		errs = append(errs, fmt.Errorf("protocols::http::endpoint %q must be host:port (for example localhost:4318): %w", h.Endpoint, err))
	}
	if h.TracesURLPath == "" {
		errs = append(errs, errors.New("protocols::http::traces_url_path must be a path such as /v1/traces"))
	}
	if h.MaxRequestBodySize <= 0 {
		errs = append(errs, errors.New("protocols::http::max_request_body_size must be a positive number of bytes"))
	}
	if h.ReadHeaderTimeout < 0 || h.IdleTimeout < 0 {
		errs = append(errs, errors.New("protocols::http: read_header_timeout and idle_timeout must not be negative"))
	}
	return errors.Join(errs...)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
