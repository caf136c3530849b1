"""scripts/bump.py: the pure parts (pin file edits, go.mod templating, version checks).

No network and no Go here; the registry checks run when a maintainer bumps, and
tests/test_update.py drives a real collector bump through the Go module proxy.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import bump  # noqa: E402

pytestmark = pytest.mark.render

PINS = """\
# The template's single pin file.
# OpenTelemetry Collector (core modules v0.x and the matching v1.x "stable" modules, contrib).
pin_collector_core:
  type: str
  default: "v0.165.0"
  when: false
pin_collector_core_stable:
  type: str
  # a comment inside an entry
  default: "v1.71.0"
  when: false
pin_collector_contrib:
  type: str
  default: 'v0.165.1'
  when: false
pin_go_version:
  type: str
  default: "1.26"
  when: false

pin_otel_python:
  type: str
  default: "1.45.1"
  when: false
tool_version:
  type: str
  default: "0.3.0"
  when: false
tool_requirement:
  type: str
  when: false
  default: |-
    {%- set src = 'x' -%}lambda-otel-xray-tool @ {{ src }}
"""


def test_read_pins() -> None:
    assert bump.read_pins(PINS) == {
        "pin_collector_core": "v0.165.0",
        "pin_collector_core_stable": "v1.71.0",
        "pin_collector_contrib": "v0.165.1",
        "pin_go_version": "1.26",
        "pin_otel_python": "1.45.1",
        "tool_version": "0.3.0",
    }


def test_set_pins_changes_only_the_named_defaults() -> None:
    new = bump.set_pins(
        PINS,
        {
            "pin_collector_core": "v0.166.0",
            "pin_collector_core_stable": "v1.72.0",
            "pin_collector_contrib": "v0.166.0",
        },
    )
    changed = [(a, b) for a, b in zip(PINS.splitlines(), new.splitlines(), strict=True) if a != b]
    assert changed == [
        ('  default: "v0.165.0"', '  default: "v0.166.0"'),
        ('  default: "v1.71.0"', '  default: "v1.72.0"'),
        ("  default: 'v0.165.1'", '  default: "v0.166.0"'),
    ]
    assert yaml.safe_load(new)["pin_collector_contrib"]["default"] == "v0.166.0"


def test_set_pins_is_idempotent_and_rejects_unknown_pins() -> None:
    once = bump.set_pins(PINS, {"pin_otel_python": "1.46.0"})
    assert bump.set_pins(once, {"pin_otel_python": "1.46.0"}) == once
    with pytest.raises(bump.BumpError, match="pin_nope"):
        bump.set_pins(PINS, {"pin_nope": "1"})


def test_the_real_pin_file_round_trips() -> None:
    text = (ROOT / "pins.yml").read_text()
    pins = bump.read_pins(text)
    for name in (bump.CORE, bump.STABLE, bump.CONTRIB, bump.GO_PIN, bump.OTEL, bump.OTEL_CONTRIB):
        assert name in pins
    assert bump.set_pins(text, pins) == text
    # Every pin the file declares is what Copier reads as the default.
    data = yaml.safe_load(text)
    versions = {k: v for k, v in data.items() if k.startswith("pin_") or k == bump.TOOL_VERSION}
    assert {k: str(v["default"]) for k, v in versions.items()} == pins
    # The tool's package version is the module version services require.
    pyproject = (ROOT / "tool/pyproject.toml").read_text()
    assert f'\nversion = "{pins[bump.TOOL_VERSION]}"\n' in pyproject


@pytest.mark.parametrize("version", ["v0.166.0", "v0.165.1"])
def test_collector_version_accepted(version: str) -> None:
    assert bump.check_collector_version(version) == version


@pytest.mark.parametrize("version", ["0.166.0", "v1.72.0", "v0.166", "latest", "v0.166.0-rc1"])
def test_collector_version_rejected(version: str) -> None:
    with pytest.raises(bump.BumpError, match=r"v0\.N\.P"):
        bump.check_collector_version(version)


def test_python_versions_checked() -> None:
    bump.check_python_versions("1.46.0", "0.67b0")
    with pytest.raises(bump.BumpError, match=r"1\.N\.P"):
        bump.check_python_versions("0.67b0", "1.46.0")
    with pytest.raises(bump.BumpError, match=r"0\.NbM"):
        bump.check_python_versions("1.46.0", "0.67")


CONTRIB_GO_MOD = """\
module github.com/open-telemetry/opentelemetry-collector-contrib/extension/sigv4authextension

go 1.26.0

require (
\tgithub.com/aws/aws-sdk-go-v2 v1.48.0
\tgo.opentelemetry.io/collector/component v1.72.0
\tgo.opentelemetry.io/collector/component/componenttest v0.166.0
\tgo.opentelemetry.io/collector/extension/extensiontest v0.166.0
\tgo.opentelemetry.io/collector/featuregate v1.72.0 // indirect
\tgo.opentelemetry.io/otel v1.48.0
)

require go.opentelemetry.io/collector/pdata v1.72.0 // indirect

replace github.com/open-telemetry/opentelemetry-collector-contrib/internal/aws => ../../internal/aws
"""


def test_core_and_stable_come_from_the_contrib_release() -> None:
    assert bump.resolve_collector_pins("v0.166.1", CONTRIB_GO_MOD) == {
        bump.CORE: "v0.166.0",
        bump.STABLE: "v1.72.0",
        bump.CONTRIB: "v0.166.1",
    }


def test_a_contrib_go_mod_without_the_pair_is_an_error() -> None:
    with pytest.raises(bump.BumpError, match="core/stable pair"):
        bump.resolve_collector_pins(
            "v0.1.0", "module x\n\nrequire go.opentelemetry.io/otel v1.0.0\n"
        )


def test_go_requirements_reads_blocks_and_single_lines() -> None:
    reqs = bump.go_requirements(CONTRIB_GO_MOD)
    assert ("go.opentelemetry.io/collector/pdata", "v1.72.0") in reqs
    assert ("github.com/aws/aws-sdk-go-v2", "v1.48.0") in reqs
    assert len(reqs) == 7


TEMPLATE = """\
{#- header comment -#}
module lambdacollector

go {{ pin_go_version }}{% if pin_go_version.count(".") == 1 %}.0{% endif %}

require (
\tgithub.com/aws/aws-sdk-go-v2 v1.48.0
\tgithub.com/open-telemetry/opentelemetry-collector-contrib/extension/sigv4authextension \
{{ pin_collector_contrib }}
\tgo.opentelemetry.io/collector/component {{ pin_collector_core_stable }}
\tgo.opentelemetry.io/collector/otelcol {{ pin_collector_core }}
\tlambdaotelxray v{{ tool_version }}
)

require (
\tgo.opentelemetry.io/collector/featuregate {{ pin_collector_core_stable }} // indirect
\tgo.opentelemetry.io/otel v1.47.0 // indirect
)
"""
OLD = {
    "pin_collector_core": "v0.165.0",
    "pin_collector_core_stable": "v1.71.0",
    "pin_collector_contrib": "v0.165.1",
    "pin_go_version": "1.26",
    "tool_version": "0.3.0",
}
NEW = {**OLD, "pin_collector_core": "v0.166.0", "pin_collector_core_stable": "v1.72.0"}
NEW["pin_collector_contrib"] = "v0.166.0"


def test_pinned_modules() -> None:
    assert bump.pinned_modules(TEMPLATE) == {
        "github.com/open-telemetry/opentelemetry-collector-contrib/extension/sigv4authextension": (
            "pin_collector_contrib"
        ),
        "go.opentelemetry.io/collector/component": "pin_collector_core_stable",
        "go.opentelemetry.io/collector/otelcol": "pin_collector_core",
        "go.opentelemetry.io/collector/featuregate": "pin_collector_core_stable",
    }


def test_templatize_inverts_render() -> None:
    rendered = bump.render(TEMPLATE, OLD)
    assert "go 1.26.0\n" in rendered and "\tlambdaotelxray v0.3.0\n" in rendered
    text, warnings = bump.templatize_go_mod(rendered, TEMPLATE, OLD)
    assert text == TEMPLATE
    assert warnings == []


def test_templatize_tidy_output_of_a_bump() -> None:
    # What `go mod tidy` leaves after a bump: pinned modules at the new versions, a new
    # indirect collector module, and a newer third-party module.
    tidy = (
        bump.render(TEMPLATE, NEW)
        .replace("go.opentelemetry.io/otel v1.47.0", "go.opentelemetry.io/otel v1.48.0")
        .replace(
            "\tgo.opentelemetry.io/otel v1.48.0 // indirect\n",
            "\tgo.opentelemetry.io/collector/pipeline v1.72.0 // indirect\n"
            "\tgo.opentelemetry.io/otel v1.48.0 // indirect\n",
        )
    )
    text, warnings = bump.templatize_go_mod(tidy, TEMPLATE, NEW)
    assert warnings == []
    assert (
        "\tgo.opentelemetry.io/collector/pipeline {{ pin_collector_core_stable }} // indirect\n"
        in text
    )
    assert "\tgo.opentelemetry.io/otel v1.48.0 // indirect\n" in text
    assert text.startswith("{#- header comment -#}\nmodule lambdacollector\n")
    assert bump.render(text, NEW) == tidy


def test_templatize_warns_about_collector_modules_off_the_pins() -> None:
    tidy = bump.render(TEMPLATE, NEW).replace("featuregate v1.72.0", "featuregate v1.70.0")
    text, warnings = bump.templatize_go_mod(tidy, TEMPLATE, NEW)
    assert "featuregate v1.70.0 // indirect" in text
    assert warnings == [
        "go.opentelemetry.io/collector/featuregate v1.70.0 matches no collector pin: kept as is"
    ]


@pytest.mark.parametrize(
    ("directive", "pin"), [("1.26.0", "1.26"), ("1.27.0", "1.27"), ("1.26.3", "1.26.3")]
)
def test_go_pin_for(directive: str, pin: str) -> None:
    assert bump.go_pin_for(directive) == pin
    rendered = bump.render(TEMPLATE, {**OLD, "pin_go_version": pin})
    assert bump.go_directive(rendered) == directive


def test_the_real_go_mod_template_is_fully_pinned() -> None:
    """Every collector module in go.mod.jinja takes its version from a pin, so a bump moves
    them all; and rendering then templatizing the real file gives it back unchanged."""
    template = (ROOT / bump.GO_MOD_TEMPLATE).read_text()
    pins = bump.read_pins((ROOT / "pins.yml").read_text())
    rendered = bump.render(template, pins)
    for module, version in bump.go_requirements(rendered):
        if bump.is_core_module(module) or module.startswith(bump.CONTRIB_PREFIX):
            assert module in bump.pinned_modules(template), f"{module} {version} is not pinned"
    assert bump.templatize_go_mod(rendered, template, pins) == (template, [])


MODULE_GO_MOD = """\
module lambdaotelxray

go 1.26.0

require (
\tgithub.com/aws/aws-sdk-go-v2 v1.48.0
\tgo.opentelemetry.io/collector/component v1.71.0
\tgo.opentelemetry.io/collector/otelcol v0.165.0
)

require (
\tgo.opentelemetry.io/collector/featuregate v1.70.0 // indirect
\tgo.opentelemetry.io/otel v1.47.0 // indirect
)
"""


def test_repin_moves_the_modules_collector_requirements() -> None:
    text, warnings = bump.repin_go_mod(MODULE_GO_MOD, OLD, NEW)
    assert text == MODULE_GO_MOD.replace("component v1.71.0", "component v1.72.0").replace(
        "otelcol v0.165.0", "otelcol v0.166.0"
    )
    assert warnings == [
        "go.opentelemetry.io/collector/featuregate v1.70.0 matches no collector pin: kept as is"
    ]


def test_the_real_module_go_mod_is_at_the_pins() -> None:
    """Every collector module tool/collector/go.mod requires is at a pin, so a bump moves them
    all; the module is lambdaotelxray and declares the services' go version, and the services'
    go.mod requires it at the tool's version."""
    text = (ROOT / bump.MODULE_GO_MOD).read_text()
    pins = bump.read_pins((ROOT / "pins.yml").read_text())
    assert bump.repin_go_mod(text, pins, pins) == (text, [])
    assert text.startswith(f"module {bump.MODULE_PATH}\n")
    rendered = bump.render((ROOT / bump.GO_MOD_TEMPLATE).read_text(), pins)
    assert bump.go_directive(text) == bump.go_directive(rendered)
    assert f"\t{bump.MODULE_PATH} v{pins[bump.TOOL_VERSION]}\n" in rendered


@pytest.mark.layer
def test_the_committed_go_files_are_what_a_bump_writes() -> None:
    """`go mod tidy` at today's pins (the bump's own procedure: both exporters' component
    lists, the module replaced) changes neither go.mod/go.sum pair."""
    pins = bump.read_pins((ROOT / "pins.yml").read_text())
    tidied = bump.tidy_collector(ROOT, pins, pins)
    assert tidied.notes == []
    assert tidied.module_go_mod == (ROOT / bump.MODULE_GO_MOD).read_text()
    assert tidied.module_go_sum == (ROOT / bump.MODULE_GO_SUM).read_text()
    template = (ROOT / bump.GO_MOD_TEMPLATE).read_text()
    assert bump.templatize_go_mod(tidied.service_go_mod, template, pins) == (template, [])
    assert tidied.service_go_sum == (ROOT / bump.GO_SUM).read_text()


def test_otel_requirements_cover_every_instrumentation() -> None:
    copier_yml = (ROOT / "copier.yml").read_text()
    choices = bump.copier_choices(copier_yml, "instrumentations")
    assert choices == ["botocore", "requests", "urllib3", "httpx"]
    assert "3.13" in bump.copier_choices(copier_yml, "python_version")
    pins = {**bump.read_pins((ROOT / "pins.yml").read_text()), "pin_otel_python": "1.46.0"}
    reqs = bump.otel_requirements((ROOT / bump.REQUIREMENTS_TEMPLATE).read_text(), pins, choices)
    assert "opentelemetry-sdk==1.46.0" in reqs
    assert {f"opentelemetry-instrumentation-{c}" for c in choices} <= {
        r.split("==")[0] for r in reqs
    }


def test_write_touches_only_changed_files(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("same")
    (tmp_path / "b").write_text("old")
    plan = bump.Plan(pins={}, files={Path("a"): "same", Path("b"): "new"})
    assert bump.write(tmp_path, plan) == [Path("b")]
    assert (tmp_path / "b").read_text() == "new"


def test_command_line_rejects_a_bad_version_before_any_lookup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pins.yml").write_text(PINS)
    assert bump.main(["--root", str(tmp_path), "collector", "--version", "latest"]) == 1
    err = capsys.readouterr().err
    assert "v0.N.P" in err and "nothing was written" in err
    assert (tmp_path / "pins.yml").read_text() == PINS


def test_the_test_groups_opentelemetry_pins_are_the_layers() -> None:
    """The runtime's unit tests (tool/tests) run against the SDK a service's layer carries: the
    test group in pyproject.toml pins the same versions as pins.yml. After a bump, update both
    (pip install --group test)."""
    import tomllib

    pins = bump.read_pins((ROOT / "pins.yml").read_text())
    wanted = {
        "opentelemetry-api": pins["pin_otel_python"],
        "opentelemetry-sdk": pins["pin_otel_python"],
        "opentelemetry-proto": pins["pin_otel_python"],
        "opentelemetry-exporter-otlp-proto-common": pins["pin_otel_python"],
        "opentelemetry-instrumentation": pins["pin_otel_python_contrib"],
        "opentelemetry-instrumentation-aws-lambda": pins["pin_otel_python_contrib"],
        "opentelemetry-instrumentation-botocore": pins["pin_otel_python_contrib"],
        "opentelemetry-propagator-aws-xray": pins["pin_otel_propagator_aws_xray"],
        "opentelemetry-sdk-extension-aws": pins["pin_otel_sdk_extension_aws"],
    }
    group = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]["test"]
    pinned = dict(r.split("==") for r in group if r.startswith("opentelemetry-"))
    assert pinned == wanted


# --------------------------------------------------------------- the layer's hash-pinned lock
def report_item(name: str, version: str, digest: str, requires: list[str] | None = None) -> dict:
    """One entry of `pip install --report`'s install list."""
    return {
        "metadata": {"name": name, "version": version, "requires_dist": requires},
        "download_info": {"archive_info": {"hashes": {"sha256": digest}}},
    }


def test_build_lock_merges_architectures_and_evaluates_markers() -> None:
    resolutions = {
        ("3.13", "x86_64"): [
            report_item("Pkg_A", "1.0", "a" * 64, ["typing_extensions>=4", 'b; extra == "x"']),
            report_item("wrapt", "1.17.3", "1" * 64),
            report_item("typing_extensions", "4.16.0", "t" * 64),
        ],
        ("3.13", "arm64"): [
            report_item("pkg-a", "1.0", "a" * 64, ["typing-extensions>=4"]),
            report_item("wrapt", "1.17.3", "2" * 64),
            report_item("typing-extensions", "4.16.0", "t" * 64),
        ],
        ("3.10", "x86_64"): [
            report_item("pkg-a", "1.0", "a" * 64, ['wrapt; python_version < "3.11"']),
            report_item("wrapt", "1.17.3", "3" * 64),
        ],
    }
    lock = bump.build_lock(resolutions, {"pin_otel_python": "1.0"})
    assert lock["pythons"]["3.13"]["pkg-a"] == {"version": "1.0", "requires": ["typing-extensions"]}
    assert lock["pythons"]["3.10"]["pkg-a"]["requires"] == ["wrapt"]
    assert lock["hashes"]["wrapt==1.17.3"] == ["1" * 64, "2" * 64, "3" * 64]
    assert lock["hashes"]["pkg-a==1.0"] == ["a" * 64]


def test_build_lock_refuses_versions_that_differ_by_architecture() -> None:
    resolutions = {
        ("3.13", "x86_64"): [report_item("wrapt", "1.17.3", "1" * 64)],
        ("3.13", "arm64"): [report_item("wrapt", "1.17.2", "2" * 64)],
    }
    with pytest.raises(bump.BumpError, match="one lock cannot hold both"):
        bump.build_lock(resolutions, {})


def test_the_committed_lock_is_at_the_pins_for_every_answer() -> None:
    """The lock `make lock-python-otel` wrote matches pins.yml, covers every Python version the
    form offers, and turns every requirements-otel.txt the form can render into hashed lines."""
    from lambda_otel_xray.layer import lock

    committed = lock.load(ROOT / bump.LOCK)
    pins = bump.read_pins((ROOT / "pins.yml").read_text())
    assert committed["pins"] == {k: v for k, v in pins.items() if k.startswith("pin_otel_")}
    copier_yml = (ROOT / "copier.yml").read_text()
    assert sorted(committed["pythons"]) == sorted(bump.copier_choices(copier_yml, "python_version"))
    choices = bump.copier_choices(copier_yml, "instrumentations")
    text = "\n".join(
        bump.otel_requirements((ROOT / bump.REQUIREMENTS_TEMPLATE).read_text(), pins, choices)
    )
    for python_version in committed["pythons"]:
        hashed = lock.hashed_requirements(text, python_version, committed)
        lines = [line for line in hashed.splitlines() if not line.startswith("#")]
        assert lines and all(" --hash=sha256:" in line for line in lines)
        assert any(line.startswith("wrapt==") for line in lines)
