"""Layer build: real Go compiles and pip installs, through the post-generation hook.

Each built case is rendered with tasks enabled, so the hook that runs on `copier copy` is what
builds the layer under test: `make layer`, whose `make venv` installs the tool from the template
snapshot's commit (a pip VCS requirement, as a team's service installs it from its git host),
then `lambda-otel-xray layer`. Later rebuilds run that tool from the service's .venv.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from elf import inspect
from lambda_otel_xray.layer import lock
from render import Case, render

pytestmark = pytest.mark.layer

BUILT = [
    Case("sam", "awsxray", "x86_64"),
    Case("terraform", "awsxray", "arm64"),
    Case("cdk", "xray-otlp", "x86_64"),
    Case("sam", "xray-otlp", "arm64"),
]
# Go keeps package paths in the binary's symbol table even with -s -w, so a component that is
# compiled in shows up by its package path, whatever the architecture.
EXPORTER_PACKAGE = {
    "awsxray": b"lambdaotelxray/awsxrayexporter.",
    "xray-otlp": b"go.opentelemetry.io/collector/exporter/otlphttpexporter.",
}
UNUSED_PACKAGES = (
    b"go.opentelemetry.io/collector/exporter/debugexporter.",
    b"go.opentelemetry.io/collector/processor/memorylimiterprocessor.",
    # The receiver is the module's OTLP/HTTP one: core's, with its gRPC server, stays out.
    b"go.opentelemetry.io/collector/receiver/otlpreceiver.",
)


def layer_build(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`lambda-otel-xray layer` from the service's own .venv (what `make layer` runs)."""
    return subprocess.run(
        [str(project / ".venv" / "bin" / "lambda-otel-xray"), "layer", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=1800,
        env=env,
    )


@pytest.fixture(scope="session")
def built(template_repo: Path, tmp_path_factory: pytest.TempPathFactory):
    """Render (tasks on: the hook builds the layer) once per case per session."""
    cache: dict[str, tuple[Path, str]] = {}

    def _built(case: Case) -> Path:
        if case.id not in cache:
            dest = tmp_path_factory.mktemp("built") / "svc"
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                render(template_repo, dest, case.answers(), skip_tasks=False)
            cache[case.id] = (dest, out.getvalue())
        return cache[case.id][0]

    _built.output = lambda case: cache[case.id][1]  # type: ignore[attr-defined]
    return _built


@pytest.fixture(params=BUILT, ids=lambda case: case.id)
def case(request: pytest.FixtureRequest) -> Case:
    return request.param


def test_hook_built_the_layer_on_copy(case: Case, built) -> None:
    project = built(case)
    assert (project / "build" / "layer.zip").is_file(), built.output(case)
    manifest = json.loads((project / "build" / "layer-manifest.json").read_text())
    assert manifest["architecture"] == case.architecture


def test_layout_modes_and_checksum(case: Case, built) -> None:
    project = built(case)
    layer = project / "build" / "layer.zip"
    with zipfile.ZipFile(layer) as zf:
        infos = {info.filename: info for info in zf.infolist()}
    modes = {name: (info.external_attr >> 16) & 0o777 for name, info in infos.items()}
    assert modes["extensions/collector"] == 0o755
    assert modes["otel-instrument"] == 0o755
    assert modes["collector-config/config.yaml"] == 0o644
    assert "python/opentelemetry/sdk/trace/__init__.py" in infos
    assert "python/opentelemetry/instrumentation/aws_lambda/__init__.py" in infos
    assert not any(name.startswith("python/bin/") for name in infos)
    digest = hashlib.sha256(layer.read_bytes()).hexdigest()
    assert (project / "build" / "layer.zip.sha256").read_text() == f"{digest}  layer.zip\n"
    config = yaml.safe_load((project / "collector" / "config.yaml").read_text())
    with zipfile.ZipFile(layer) as zf:
        assert yaml.safe_load(zf.read("collector-config/config.yaml")) == config


def test_extension_is_static_elf_for_the_architecture(case: Case, built, tmp_path: Path) -> None:
    project = built(case)
    with zipfile.ZipFile(project / "build" / "layer.zip") as zf:
        binary = Path(zf.extract("extensions/collector", tmp_path))
    info = inspect(binary)
    assert info.architecture == case.architecture
    assert info.static


def test_binary_has_exactly_the_configured_exporter(case: Case, built, tmp_path: Path) -> None:
    project = built(case)
    with zipfile.ZipFile(project / "build" / "layer.zip") as zf:
        binary = Path(zf.extract("extensions/collector", tmp_path))
    content = binary.read_bytes()
    assert EXPORTER_PACKAGE[case.trace_exporter] in content
    for exporter, package in EXPORTER_PACKAGE.items():
        if exporter != case.trace_exporter:
            assert package not in content
    # Components the config does not use stay out of the binary.
    for package in UNUSED_PACKAGES:
        assert package not in content
    if case.trace_exporter == "xray-otlp":
        assert b"sigv4authextension." in content
    else:
        assert b"sigv4authextension." not in content
    manifest = json.loads((project / "build" / "layer-manifest.json").read_text())
    assert "grpcnotrace" in " ".join(manifest["collector"]["build_flags"])


def test_python_packages_match_the_pins(case: Case, built) -> None:
    project = built(case)
    manifest = json.loads((project / "build" / "layer-manifest.json").read_text())
    installed = {p["name"].lower(): p["version"] for p in manifest["python"]["packages"]}
    for line in (project / "requirements-otel.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            assert installed[name.lower()] == version
    # Every package came through `pip --require-hashes` from the lock: the pins' closure,
    # nothing unhashed besides.
    assert manifest["python"]["hash_checked"] is True
    hashed = lock.hashed_requirements(
        (project / "requirements-otel.txt").read_text(), manifest["python_version"]
    )
    locked = dict(line.split(" ", 1)[0].split("==") for line in hashed.splitlines()[1:])
    assert {lock.normalize(name): v for name, v in installed.items()} == locked


def test_a_file_that_does_not_match_its_hash_is_refused_and_keeps_the_old_layer(
    built, tmp_path: Path
) -> None:
    """A team's hash-pinned requirements-otel.txt whose hash for one package is not the
    file's (what a tampered mirror looks like): real pip refuses it, the build says why."""
    project = copy_project(built(BUILT[0]), tmp_path)
    layer = project / "build" / "layer.zip"
    before = layer.read_bytes()
    requirements = project / "requirements-otel.txt"
    python_version = json.loads((project / "build" / "layer-manifest.json").read_text())[
        "python_version"
    ]
    hashed = lock.hashed_requirements(requirements.read_text(), python_version)
    name = "opentelemetry-propagator-aws-xray"
    tampered = [
        re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, line)
        if line.startswith(f"{name}==")
        else line
        for line in hashed.splitlines()
    ]
    requirements.write_text("\n".join(tampered) + "\n")
    result = layer_build(project)
    assert result.returncode == 1, result.stderr
    assert "does not match the hash the lock recorded" in result.stderr
    assert name in result.stderr  # pip's own lines name the package and both hashes
    assert layer.read_bytes() == before
    assert [p.name for p in (project / "build").iterdir() if p.name.startswith(".")] == []


def test_a_pin_the_lock_does_not_hold_is_refused_before_any_install(built, tmp_path: Path) -> None:
    project = copy_project(built(BUILT[0]), tmp_path)
    requirements = project / "requirements-otel.txt"
    text, count = re.subn(
        r"(?m)^opentelemetry-sdk==\S+$", "opentelemetry-sdk==1.40.0", requirements.read_text()
    )
    assert count == 1
    requirements.write_text(text)
    result = layer_build(project)
    assert result.returncode == 1, result.stderr
    assert "pins opentelemetry-sdk==1.40.0, but the tool's lock holds" in result.stderr
    assert "--generate-hashes" in result.stderr


def copy_project(project: Path, tmp_path: Path) -> Path:
    """A copy that shares the build cache (so failures are found in seconds, not minutes)."""
    clone = tmp_path / "svc"
    shutil.copytree(project, clone, symlinks=True)
    return clone


def test_unchanged_inputs_are_a_no_op(built, tmp_path: Path) -> None:
    project = copy_project(built(BUILT[0]), tmp_path)
    before = (project / "build" / "layer.zip").read_bytes()
    result = layer_build(project)
    assert result.returncode == 0, result.stderr
    assert "layer is up to date" in result.stderr
    assert "Compile" not in result.stderr
    assert (project / "build" / "layer.zip").read_bytes() == before


def test_changed_config_rebuilds_reusing_the_compiled_collector(built, tmp_path: Path) -> None:
    project = copy_project(built(BUILT[0]), tmp_path)
    before = hashlib.sha256((project / "build" / "layer.zip").read_bytes()).hexdigest()
    config = project / "collector" / "config.yaml"
    config.write_text(config.read_text().replace("timeout: 200ms", "timeout: 300ms"))
    result = layer_build(project)
    assert result.returncode == 0, result.stderr
    # The config is not compiled in: the cached binary is reused; the zip changes.
    assert "cached" in result.stderr.split("Compile", 1)[1].splitlines()[1]
    after = hashlib.sha256((project / "build" / "layer.zip").read_bytes()).hexdigest()
    assert after != before


def test_changed_architecture_rebuilds(built, tmp_path: Path) -> None:
    project = copy_project(built(BUILT[0]), tmp_path)
    result = layer_build(project, "--arch", "arm64")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((project / "build" / "layer-manifest.json").read_text())
    assert manifest["collector"]["goarch"] == "arm64"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("exporters:\n", "exporters:\n  nosuch: {}\n", "nosuch"),
        ("timeout: 200ms", "timeout: banana", "invalid duration"),
        ("send_batch_size: 50", "send_batch_size: 50\n    no_such_field: 1", "no_such_field"),
    ],
    ids=["unknown-exporter", "bad-duration", "unknown-field"],
)
def test_bad_config_fails_with_collectors_message_and_keeps_old_layer(
    built, tmp_path: Path, old: str, new: str, message: str
) -> None:
    project = copy_project(built(BUILT[0]), tmp_path)
    layer = project / "build" / "layer.zip"
    before = layer.read_bytes()
    config = project / "collector" / "config.yaml"
    config.write_text(config.read_text().replace(old, new, 1))
    result = layer_build(project)
    assert result.returncode == 1
    assert "the collector rejects config.yaml" in result.stderr
    assert message in result.stderr
    assert layer.read_bytes() == before
    leftovers = [p.name for p in (project / "build").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_bad_config_without_previous_layer_leaves_no_zip(built, tmp_path: Path) -> None:
    project = copy_project(built(BUILT[0]), tmp_path)
    for name in ("layer.zip", "layer.zip.sha256", "layer-manifest.json"):
        (project / "build" / name).unlink()
    config = project / "collector" / "config.yaml"
    config.write_text(config.read_text().replace("exporters:\n", "exporters:\n  nosuch: {}\n", 1))
    assert layer_build(project).returncode == 1
    assert not (project / "build" / "layer.zip").exists()
    assert not (project / "build" / "layer.zip.sha256").exists()


def test_missing_go_is_explained(built, tmp_path: Path) -> None:
    project = copy_project(built(BUILT[0]), tmp_path)
    (project / "build" / "layer-manifest.json").unlink()  # force a build
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    assert shutil.which("go", path=env["PATH"]) is None, "go must not be on this PATH"
    result = layer_build(project, env=env)
    assert result.returncode == 1
    assert "Go is not installed" in result.stderr
    assert "make layer-docker" in result.stderr


def test_unreachable_module_proxy_is_explained(built, tmp_path: Path) -> None:
    project = copy_project(built(BUILT[0]), tmp_path)
    shutil.rmtree(project / "build")  # nothing cached: the build must fetch modules
    env = {
        **os.environ,
        "GOMODCACHE": str(tmp_path / "empty-modcache"),
        "GOPROXY": "off",
        "GOFLAGS": "-modcacherw",
    }
    result = layer_build(project, env=env)
    assert result.returncode == 1
    assert "could not download Go modules" in result.stderr
    assert "GOPROXY" in result.stderr
    assert not (project / "build" / "layer.zip").exists()


def test_cli_copy_into_a_relative_path_builds_the_layer(
    template_repo: Path, tmp_path: Path
) -> None:
    """What a user types: a relative destination, tasks on. (Copier runs the task inside the
    destination, so a hook that re-resolved the relative path would miss the project and make
    Copier delete it.)"""
    copier = Path(sys.executable).parent / "copier"
    result = subprocess.run(
        [
            str(copier),
            "copy",
            "--trust",
            "--defaults",
            "--vcs-ref=HEAD",
            "-d",
            "project_slug=relative-svc",
            str(template_repo),
            "relative-svc",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    project = tmp_path / "relative-svc"
    assert (project / "build" / "layer.zip").is_file(), result.stdout[-3000:]
    assert "layer built:" in result.stdout
    assert "make local" in result.stderr + result.stdout
