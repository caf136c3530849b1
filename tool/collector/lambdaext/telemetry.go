package lambdaext

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configtelemetry"
	"go.opentelemetry.io/collector/service/telemetry"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// The collector's own telemetry (service::telemetry) in this distribution is
// its log, written to stderr, which Lambda sends to CloudWatch Logs. The
// standard factory (service/telemetry/otelconftelemetry) also builds the
// OpenTelemetry Go SDK with OTLP, Prometheus and stdout exporters for the
// collector's internal metrics, traces and logs, plus cloud resource
// detectors (EC2, ECS, EKS with a Kubernetes client, GCP, Azure). Inside
// Lambda nothing could scrape those metrics, and linking that stack cost
// ~8 MB of the binary and ~2 ms of package initialisation at every cold
// start (bench/extension.py). So this factory keeps the standard keys for
// logs, with the same defaults, and accepts metrics and traces only at level
// "none"; settings that need the SDK are rejected with a message saying so.

// telemetryConfig is service::telemetry.
type telemetryConfig struct {
	Logs    telemetryLogs  `mapstructure:"logs"`
	Metrics telemetryLevel `mapstructure:"metrics"`
	Traces  telemetryLevel `mapstructure:"traces"`
	// Other keys of the standard telemetry (resource, ...), kept to be
	// reported by Validate rather than as a bare "invalid keys".
	Unsupported map[string]any `mapstructure:",remain"`
}

// telemetryLogs has the keys (and defaults) of the standard service::telemetry::logs.
type telemetryLogs struct {
	Level             zapcore.Level          `mapstructure:"level"`
	Development       bool                   `mapstructure:"development"`
	Encoding          string                 `mapstructure:"encoding"`
	DisableCaller     bool                   `mapstructure:"disable_caller"`
	DisableStacktrace bool                   `mapstructure:"disable_stacktrace"`
	Sampling          *telemetryLogsSampling `mapstructure:"sampling"`
	OutputPaths       []string               `mapstructure:"output_paths"`
	ErrorOutputPaths  []string               `mapstructure:"error_output_paths"`
	InitialFields     map[string]any         `mapstructure:"initial_fields"`
	// Accepted for configs written for the standard telemetry; log lines
	// never carry the collector's resource here.
	DisableZapResource bool           `mapstructure:"disable_zap_resource"`
	Unsupported        map[string]any `mapstructure:",remain"`
}

type telemetryLogsSampling struct {
	Enabled    bool          `mapstructure:"enabled"`
	Tick       time.Duration `mapstructure:"tick"`
	Initial    int           `mapstructure:"initial"`
	Thereafter int           `mapstructure:"thereafter"`
}

// telemetryLevel is service::telemetry::metrics and ::traces.
type telemetryLevel struct {
	Level       configtelemetry.Level `mapstructure:"level"`
	Unsupported map[string]any        `mapstructure:",remain"`
}

const telemetryHint = "this collector is built for AWS Lambda without the OpenTelemetry SDK " +
	"for its own metrics, traces and log export (nothing could scrape or receive them in the " +
	"Lambda sandbox); its log goes to stderr, which Lambda sends to CloudWatch Logs. Remove the setting"

func (c *telemetryConfig) Validate() error {
	var errs []error
	unsupported := func(section string, keys map[string]any) {
		for _, key := range sortedKeys(keys) {
			errs = append(errs, fmt.Errorf("service::telemetry::%s%s is not supported: %s", section, key, telemetryHint))
		}
	}
	unsupported("", c.Unsupported)
	unsupported("logs::", c.Logs.Unsupported)
	unsupported("metrics::", c.Metrics.Unsupported)
	unsupported("traces::", c.Traces.Unsupported)
	for section, level := range map[string]configtelemetry.Level{"metrics": c.Metrics.Level, "traces": c.Traces.Level} {
		if level != configtelemetry.LevelNone {
			errs = append(errs, fmt.Errorf("service::telemetry::%s::level %q is not supported: %s (or set it to none)", section, level, telemetryHint))
		}
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

func defaultTelemetryConfig() component.Config {
	return &telemetryConfig{
		Logs: telemetryLogs{
			Level:    zapcore.InfoLevel,
			Encoding: "console",
			Sampling: &telemetryLogsSampling{
				Enabled:    true,
				Tick:       10 * time.Second,
				Initial:    10,
				Thereafter: 100,
			},
			OutputPaths:      []string{"stderr"},
			ErrorOutputPaths: []string{"stderr"},
		},
		Metrics: telemetryLevel{Level: configtelemetry.LevelNone},
		Traces:  telemetryLevel{Level: configtelemetry.LevelNone},
	}
}

// telemetryFactory builds the service's logger; meter and tracer providers
// are the no-op ones telemetry.NewFactory gives when none is configured.
func telemetryFactory() telemetry.Factory {
	return telemetry.NewFactory(defaultTelemetryConfig, telemetry.WithCreateLogger(createLogger))
}

func createLogger(_ context.Context, set telemetry.LoggerSettings, cfg component.Config) (*zap.Logger, component.ShutdownFunc, error) {
	logs := cfg.(*telemetryConfig).Logs
	encoder := zap.NewProductionEncoderConfig()
	encoder.EncodeTime = zapcore.ISO8601TimeEncoder
	build := set.BuildZapLogger
	if build == nil {
		build = zap.Config.Build
	}
	logger, err := build(zap.Config{
		Level:             zap.NewAtomicLevelAt(logs.Level),
		Development:       logs.Development,
		Encoding:          logs.Encoding,
		EncoderConfig:     encoder,
		OutputPaths:       logs.OutputPaths,
		ErrorOutputPaths:  logs.ErrorOutputPaths,
		DisableCaller:     logs.DisableCaller,
		DisableStacktrace: logs.DisableStacktrace,
		InitialFields:     logs.InitialFields,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("service::telemetry::logs: %w", err)
	}
	if s := logs.Sampling; s != nil && s.Enabled {
		logger = logger.WithOptions(zap.WrapCore(func(core zapcore.Core) zapcore.Core {
			return zapcore.NewSamplerWithOptions(core, s.Tick, s.Initial, s.Thereafter)
		}))
	}
	// Unbuffered stderr: nothing to flush at shutdown.
	return logger, nil, nil
}
