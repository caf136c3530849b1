"""Build tags from collector/config.yaml: the binary gets exactly the components it uses.

Each component lives in collector/<kind>_<type>.go behind the tag
`lambdacomponents.<kind>.<type>` (upstream opentelemetry-lambda's convention), so adding a
component to config.yaml adds its tag on the next build.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import LayerBuildError

KINDS = {
    "receivers": "receiver",
    "processors": "processor",
    "exporters": "exporter",
    "extensions": "extension",
    "connectors": "connector",
}
CUSTOM_TAG = "lambdacomponents.custom"


def load_config(path: Path) -> dict[str, Any]:
    try:
        import yaml
    except ImportError as error:  # pragma: no cover - depends on the machine
        raise LayerBuildError(
            "PyYAML is needed to read collector/config.yaml",
            "run `make venv` (the Makefile then uses .venv/bin/python) or `pip install pyyaml`",
        ) from error
    if not path.is_file():
        raise LayerBuildError(
            f"{path} does not exist", "restore it from the template with `copier update`"
        )
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise LayerBuildError(
            f"{path} is not valid YAML", "fix the YAML syntax at the position shown", str(error)
        ) from error
    if not isinstance(config, dict):
        raise LayerBuildError(
            f"{path} must be a mapping with receivers/processors/exporters/service",
            "compare it with the collector configuration documentation",
        )
    return config


def used_components(config: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, type) of every component the config declares, e.g. ("exporter", "awsxray")."""
    found: set[tuple[str, str]] = set()
    for section, kind in KINDS.items():
        entries = config.get(section) or {}
        if not isinstance(entries, dict):
            raise LayerBuildError(
                f"`{section}` in the collector config must be a mapping of component ids",
                f"write it as `{section}:` followed by indented `<type>[/<name>]:` entries",
            )
        for component_id in entries:
            found.add((kind, str(component_id).split("/", 1)[0]))
    return sorted(found)


def available_components(collector_dir: Path) -> set[tuple[str, str]]:
    """Components the collector sources provide, from their `<kind>_<type>.go` file names."""
    kinds = set(KINDS.values())
    found = set()
    for path in collector_dir.glob("*_*.go"):
        if path.name.endswith("_test.go"):
            continue
        kind, _, name = path.stem.partition("_")
        if kind in kinds:
            found.add((kind, name))
    return found


def build_tags(config_path: Path) -> list[str]:
    """Go build tags for the components config.yaml uses (unknown ones are left to the
    collector's own validation, which names them)."""
    components = used_components(load_config(config_path))
    return [CUSTOM_TAG] + [f"lambdacomponents.{kind}.{name}" for kind, name in components]
