package main

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/receiver"
)

type emptyConfig struct{}

func newConfig() component.Config { return &emptyConfig{} }

func testRegistry() *registry {
	r := &registry{}
	r.addReceiver(receiver.NewFactory(component.MustNewType("rcv"), newConfig), "example.com/rcv")
	r.addProcessor(processor.NewFactory(component.MustNewType("proc"), newConfig), "example.com/proc")
	r.addExporter(exporter.NewFactory(component.MustNewType("exp"), newConfig), "example.com/exp")
	r.addExtension(extension.NewFactory(component.MustNewType("ext"), newConfig,
		func(context.Context, extension.Settings, component.Config) (extension.Extension, error) {
			return nil, nil
		},
		component.StabilityLevelBeta), "example.com/ext")
	r.addConnector(connector.NewFactory(component.MustNewType("conn"), newConfig), "example.com/conn")
	return r
}

func TestFactoriesFromRegistry(t *testing.T) {
	f, err := testRegistry().factories(map[string]string{"example.com/exp": "v1.2.3"})
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
	if got := f.ExporterModules[component.MustNewType("exp")]; got != "example.com/exp v1.2.3" {
		t.Errorf("exporter module = %q", got)
	}
	if got := f.ReceiverModules[component.MustNewType("rcv")]; got != "example.com/rcv" {
		t.Errorf("receiver module = %q", got)
	}
}

func TestEmptyRegistryHasEmptyMaps(t *testing.T) {
	f, err := (&registry{}).factories(nil)
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
	r := testRegistry()
	r.addExporter(exporter.NewFactory(component.MustNewType("exp"), newConfig), "example.com/other")
	_, err := r.factories(nil)
	if err == nil || !strings.Contains(err.Error(), `duplicate component factory "exp"`) {
		t.Fatalf("err = %v, want duplicate error", err)
	}
}
