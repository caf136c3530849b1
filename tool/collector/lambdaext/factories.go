package lambdaext

import (
	"fmt"
	"runtime/debug"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/receiver"
)

// Component is one factory compiled into the distribution and the Go module
// (or a package of it) that provides the factory. "collector components"
// shows the module with the version the binary was built with.
type Component[F component.Factory] struct {
	Factory F
	Module  string
}

// One Component type per kind, so a component list reads
// []lambdaext.Receiver{{Factory: ..., Module: ...}}.
type (
	Receiver  = Component[receiver.Factory]
	Processor = Component[processor.Factory]
	Exporter  = Component[exporter.Factory]
	Extension = Component[extension.Factory]
	Connector = Component[connector.Factory]
)

// Components is the explicit component list of a distribution.
type Components struct {
	Receivers  []Receiver
	Processors []Processor
	Exporters  []Exporter
	Extensions []Extension
	Connectors []Connector
}

// Factories builds the otelcol.Factories of c: the factories by component
// type, each with its module and the module's version from the binary's build
// information, and this package's logs-only telemetry factory. Two factories
// of one type are an error. A factory's deprecated type aliases (for example
// "otlphttp" for "otlp_http") are registered too, as otelcol.MakeFactoryMap
// does.
func Factories(c Components) (otelcol.Factories, error) {
	return c.factories(moduleVersions())
}

// factories is Factories with the module versions given: versions maps a Go
// module path to its version; it only decorates the module names.
func (c Components) factories(versions map[string]string) (otelcol.Factories, error) {
	var f otelcol.Factories
	var err error
	if f.Receivers, f.ReceiverModules, err = factoryMap(c.Receivers, versions); err != nil {
		return otelcol.Factories{}, err
	}
	if f.Processors, f.ProcessorModules, err = factoryMap(c.Processors, versions); err != nil {
		return otelcol.Factories{}, err
	}
	if f.Exporters, f.ExporterModules, err = factoryMap(c.Exporters, versions); err != nil {
		return otelcol.Factories{}, err
	}
	if f.Extensions, f.ExtensionModules, err = factoryMap(c.Extensions, versions); err != nil {
		return otelcol.Factories{}, err
	}
	if f.Connectors, f.ConnectorModules, err = factoryMap(c.Connectors, versions); err != nil {
		return otelcol.Factories{}, err
	}
	f.Telemetry = telemetryFactory()
	return f, nil
}

// factoryMap turns a component list into the maps otelcol expects. It fails
// on duplicate component types.
func factoryMap[T component.Factory](list []Component[T], versions map[string]string) (map[component.Type]T, map[component.Type]string, error) {
	byType := make(map[component.Type]T, len(list))
	modules := make(map[component.Type]string, len(list))
	for _, c := range list {
		// MakeFactoryMap of a single factory yields its type plus any
		// deprecated alias.
		one, err := otelcol.MakeFactoryMap(c.Factory)
		if err != nil {
			return nil, nil, err
		}
		for typ, f := range one {
			if _, dup := byType[typ]; dup {
				return nil, nil, fmt.Errorf("duplicate component factory %q", typ)
			}
			byType[typ] = f
			modules[typ] = moduleWithVersion(c.Module, versions)
		}
	}
	return byType, modules, nil
}

// moduleWithVersion appends the version of the module that provides module
// (a module path, or a package path inside a module: the longest module path
// it starts with).
func moduleWithVersion(module string, versions map[string]string) string {
	best, version := "", ""
	for path, v := range versions {
		if (module == path || strings.HasPrefix(module, path+"/")) && len(path) > len(best) {
			best, version = path, v
		}
	}
	if version == "" {
		return module
	}
	return module + " " + version
}

// moduleVersions reads the versions of the modules linked into the binary.
func moduleVersions() map[string]string {
	versions := map[string]string{}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			versions[dep.Path] = depVersion(dep)
		}
	}
	return versions
}

// depVersion is the version a dependency was built at. A module replaced by a
// directory (how a service's build links this module) has no version of its
// own, "(devel)": it keeps the version the go.mod requires.
func depVersion(dep *debug.Module) string {
	if r := dep.Replace; r != nil && r.Version != "" && r.Version != "(devel)" {
		return r.Version
	}
	return dep.Version
}
