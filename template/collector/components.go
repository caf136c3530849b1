package main

import (
	"fmt"
	"runtime/debug"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/receiver"
)

// registry collects the component factories compiled into this binary. Each
// component file (receiver_otlp.go, exporter_awsxray.go, ...) is guarded by
// build tags and adds its factory from an init function, so the set of
// factories is exactly the set of component files the build tags selected.
type registry struct {
	mu         sync.Mutex
	receivers  []registered[receiver.Factory]
	processors []registered[processor.Factory]
	exporters  []registered[exporter.Factory]
	extensions []registered[extension.Factory]
	connectors []registered[connector.Factory]
}

// registered is one factory plus the Go module that provides it (shown by
// "collector components").
type registered[T component.Factory] struct {
	factory T
	module  string
}

// defaultRegistry is filled by the init functions of the component files.
var defaultRegistry = &registry{}

func (r *registry) addReceiver(f receiver.Factory, module string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.receivers = append(r.receivers, registered[receiver.Factory]{f, module})
}

func (r *registry) addProcessor(f processor.Factory, module string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.processors = append(r.processors, registered[processor.Factory]{f, module})
}

func (r *registry) addExporter(f exporter.Factory, module string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exporters = append(r.exporters, registered[exporter.Factory]{f, module})
}

func (r *registry) addExtension(f extension.Factory, module string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.extensions = append(r.extensions, registered[extension.Factory]{f, module})
}

func (r *registry) addConnector(f connector.Factory, module string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.connectors = append(r.connectors, registered[connector.Factory]{f, module})
}

// components is the otelcol.CollectorSettings.Factories function.
func components() (otelcol.Factories, error) {
	return defaultRegistry.factories(moduleVersions())
}

// factories builds otelcol.Factories from the registry. versions maps a Go
// module path to its version; it only decorates the module names.
func (r *registry) factories(versions map[string]string) (otelcol.Factories, error) {
	r.mu.Lock()
	defer r.mu.Unlock()

	var f otelcol.Factories
	var err error
	if f.Receivers, f.ReceiverModules, err = factoryMap(r.receivers, versions); err != nil {
		return otelcol.Factories{}, err
	}
	if f.Processors, f.ProcessorModules, err = factoryMap(r.processors, versions); err != nil {
		return otelcol.Factories{}, err
	}
	if f.Exporters, f.ExporterModules, err = factoryMap(r.exporters, versions); err != nil {
		return otelcol.Factories{}, err
	}
	if f.Extensions, f.ExtensionModules, err = factoryMap(r.extensions, versions); err != nil {
		return otelcol.Factories{}, err
	}
	if f.Connectors, f.ConnectorModules, err = factoryMap(r.connectors, versions); err != nil {
		return otelcol.Factories{}, err
	}
	f.Telemetry = telemetryFactory()
	return f, nil
}

// factoryMap turns registered factories into the maps otelcol expects. It
// fails on duplicate component types. Deprecated type aliases (for example
// "otlphttp" for "otlp_http") are added by otelcol.MakeFactoryMap.
func factoryMap[T component.Factory](regs []registered[T], versions map[string]string) (map[component.Type]T, map[component.Type]string, error) {
	byType := make(map[component.Type]T, len(regs))
	modules := make(map[component.Type]string, len(regs))
	for _, r := range regs {
		// MakeFactoryMap of a single factory yields its type plus any
		// deprecated alias.
		one, err := otelcol.MakeFactoryMap(r.factory)
		if err != nil {
			return nil, nil, err
		}
		for typ, f := range one {
			if _, dup := byType[typ]; dup {
				return nil, nil, fmt.Errorf("duplicate component factory %q", typ)
			}
			byType[typ] = f
			modules[typ] = moduleWithVersion(r.module, versions)
		}
	}
	return byType, modules, nil
}

func moduleWithVersion(module string, versions map[string]string) string {
	if v, ok := versions[module]; ok && v != "" {
		return module + " " + v
	}
	return module
}

// moduleVersions reads the versions of the modules linked into the binary.
func moduleVersions() map[string]string {
	versions := map[string]string{}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return versions
	}
	for _, dep := range info.Deps {
		if dep.Replace != nil {
			versions[dep.Path] = dep.Replace.Version
			continue
		}
		versions[dep.Path] = dep.Version
	}
	return versions
}
