package lambdaext

import (
	"context"
	"runtime/debug"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/receiver"
)

type emptyConfig struct{}

func newConfig() component.Config { return &emptyConfig{} }

func testComponents() Components {
	return Components{
		Receivers:  []Receiver{{Factory: receiver.NewFactory(component.MustNewType("rcv"), newConfig), Module: "example.com/rcv"}},
		Processors: []Processor{{Factory: processor.NewFactory(component.MustNewType("proc"), newConfig), Module: "example.com/proc"}},
		Exporters:  []Exporter{{Factory: exporter.NewFactory(component.MustNewType("exp"), newConfig), Module: "example.com/mod/exp"}},
		Extensions: []Extension{{Factory: extension.NewFactory(component.MustNewType("ext"), newConfig,
			func(context.Context, extension.Settings, component.Config) (extension.Extension, error) {
				return nil, nil
			},
			component.StabilityLevelBeta), Module: "example.com/ext"}},
		Connectors: []Connector{{Factory: connector.NewFactory(component.MustNewType("conn"), newConfig), Module: "example.com/conn"}},
	}
}

func TestFactoriesFromComponents(t *testing.T) {
	f, err := testComponents().factories(map[string]string{
		"example.com/mod": "v1.2.3",
		"example.com/rcv": "v0.1.0",
		"example.com":     "v9.9.9", // a shorter module path never wins
	})
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]bool{
		"receiver rcv":   f.Receivers[component.MustNewType("rcv")] != nil,
		"processor proc": f.Processors[component.MustNewType("proc")] != nil,
		"exporter exp":   f.Exporters[component.MustNewType("exp")] != nil,
		"extension ext":  f.Extensions[component.MustNewType("ext")] != nil,
		"connector conn": f.Connectors[component.MustNewType("conn")] != nil,
		"telemetry":      f.Telemetry != nil,
	}
	for what, ok := range checks {
		if !ok {
			t.Errorf("%s missing from factories", what)
		}
	}
	// A package path inside a module gets the module's version.
	if got := f.ExporterModules[component.MustNewType("exp")]; got != "example.com/mod/exp v1.2.3" {
		t.Errorf("exporter module = %q", got)
	}
	if got := f.ReceiverModules[component.MustNewType("rcv")]; got != "example.com/rcv v0.1.0" {
		t.Errorf("receiver module = %q", got)
	}
	if got := f.ProcessorModules[component.MustNewType("proc")]; got != "example.com/proc v9.9.9" {
		t.Errorf("processor module = %q", got)
	}
}

func TestModuleWithoutKnownVersionIsShownAsIs(t *testing.T) {
	f, err := testComponents().factories(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.ReceiverModules[component.MustNewType("rcv")]; got != "example.com/rcv" {
		t.Errorf("receiver module = %q", got)
	}
}

func TestNoComponentsGiveEmptyMaps(t *testing.T) {
	f, err := Components{}.factories(nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.Receivers == nil || f.Processors == nil || f.Exporters == nil || f.Extensions == nil || f.Connectors == nil {
		t.Fatal("factory maps must be non-nil even when empty")
	}
	if len(f.Connectors) != 0 {
		t.Fatalf("connectors = %v", f.Connectors)
	}
}

func TestDuplicateComponentTypeFails(t *testing.T) {
	c := testComponents()
	c.Exporters = append(c.Exporters, Exporter{Factory: exporter.NewFactory(component.MustNewType("exp"), newConfig), Module: "example.com/other"})
	_, err := Factories(c)
	if err == nil || !strings.Contains(err.Error(), `duplicate component factory "exp"`) {
		t.Fatalf("err = %v, want duplicate error", err)
	}
}

func TestDeprecatedAliasesAreKept(t *testing.T) {
	module := "go.opentelemetry.io/collector/exporter/otlphttpexporter"
	f, err := Factories(Components{Exporters: []Exporter{{Factory: otlphttpexporter.NewFactory(), Module: module}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"otlp_http", "otlphttp"} {
		if f.Exporters[component.MustNewType(typ)] == nil {
			t.Errorf("exporter %q missing", typ)
		}
		// A test binary has no module versions in its build info; the
		// template's tests read them from a built collector's "components".
		if got := f.ExporterModules[component.MustNewType(typ)]; !strings.HasPrefix(got, module) {
			t.Errorf("module of %q = %q, want %s", typ, got, module)
		}
	}
}

func TestReplacedModulesKeepTheRequiredVersion(t *testing.T) {
	cases := map[string]struct {
		dep  debug.Module
		want string
	}{
		"plain":                 {debug.Module{Path: "m", Version: "v1.0.0"}, "v1.0.0"},
		"replaced by a version": {debug.Module{Path: "m", Version: "v1.0.0", Replace: &debug.Module{Path: "fork", Version: "v1.0.1"}}, "v1.0.1"},
		"replaced by a directory": {debug.Module{Path: "lambdaotelxray", Version: "v0.3.0",
			Replace: &debug.Module{Path: "../tool/collector", Version: "(devel)"}}, "v0.3.0"},
	}
	for name, tc := range cases {
		if got := depVersion(&tc.dep); got != tc.want {
			t.Errorf("%s: depVersion = %q, want %q", name, got, tc.want)
		}
	}
}
