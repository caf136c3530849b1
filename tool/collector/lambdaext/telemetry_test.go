package lambdaext

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/config/configtelemetry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/service/telemetry"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// telemetryFromMap unmarshals service::telemetry the way the service does.
func telemetryFromMap(t *testing.T, raw map[string]any) *telemetryConfig {
	t.Helper()
	cfg := telemetryFactory().CreateDefaultConfig().(*telemetryConfig)
	if err := confmap.NewFromStringMap(raw).Unmarshal(cfg); err != nil {
		t.Fatalf("unmarshal %v: %v", raw, err)
	}
	return cfg
}

func TestTelemetryDefaults(t *testing.T) {
	cfg := telemetryFactory().CreateDefaultConfig().(*telemetryConfig)
	if cfg.Metrics.Level != configtelemetry.LevelNone || cfg.Traces.Level != configtelemetry.LevelNone {
		t.Errorf("default levels metrics=%v traces=%v, want none", cfg.Metrics.Level, cfg.Traces.Level)
	}
	if cfg.Logs.Level != zapcore.InfoLevel || cfg.Logs.Encoding != "console" || !cfg.Logs.Sampling.Enabled {
		t.Errorf("default logs = %+v, want info, console, sampled", cfg.Logs)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("default telemetry config invalid: %v", err)
	}
}

func TestTelemetryAcceptsTheStandardLogKeys(t *testing.T) {
	cfg := telemetryFromMap(t, map[string]any{
		"logs": map[string]any{
			"level": "debug", "encoding": "json", "disable_caller": true,
			"disable_zap_resource": true, "initial_fields": map[string]any{"fn": "orders"},
			"sampling": map[string]any{"enabled": false},
		},
		"metrics": map[string]any{"level": "none"},
		"traces":  map[string]any{"level": "none"},
	})
	if err := cfg.Validate(); err != nil {
		t.Fatalf("valid telemetry config rejected: %v", err)
	}
	var lines []zapcore.Entry
	logger, shutdown, err := createLogger(context.Background(), telemetry.LoggerSettings{
		BuildZapLogger: func(c zap.Config, opts ...zap.Option) (*zap.Logger, error) {
			if c.Encoding != "json" || !c.DisableCaller || c.InitialFields["fn"] != "orders" {
				t.Errorf("zap config = %+v", c)
			}
			return c.Build(append(opts, zap.Hooks(func(e zapcore.Entry) error {
				lines = append(lines, e)
				return nil
			}))...)
		},
	}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	logger.Debug("debug line")
	if len(lines) != 1 {
		t.Errorf("debug line not logged at level debug (%d lines)", len(lines))
	}
	if err := shutdown.Shutdown(context.Background()); err != nil {
		t.Errorf("logger shutdown: %v", err)
	}
}

func TestTelemetryRejectsWhatNeedsTheSDK(t *testing.T) {
	cases := map[string]struct {
		raw  map[string]any
		want string
	}{
		"metrics level": {map[string]any{"metrics": map[string]any{"level": "normal"}}, "service::telemetry::metrics::level"},
		"metrics readers": {map[string]any{"metrics": map[string]any{"level": "none", "readers": []any{map[string]any{}}}},
			"service::telemetry::metrics::readers"},
		"traces processors": {map[string]any{"traces": map[string]any{"processors": []any{}}}, "service::telemetry::traces::processors"},
		"logs processors":   {map[string]any{"logs": map[string]any{"processors": []any{}}}, "service::telemetry::logs::processors"},
		"resource":          {map[string]any{"resource": map[string]any{"service.name": "x"}}, "service::telemetry::resource"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := telemetryFromMap(t, tc.raw).Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Remove the setting") {
				t.Errorf("error %q should name %s and the fix", err, tc.want)
			}
		})
	}
}
