"""The collector's Go module and the thin distribution a service carries.

- tool/collector (module `lambdaotelxray`: packages lambdaext and awsxrayexporter) is
  gofmt-clean, vet-clean and its unit tests pass;
- the tool's build contract (lambda_otel_xray.layer.collector) stages a modfile that wires the
  module in without touching the service's files;
- the tool's wheel ships the module without its tests and test data, and a rendered service's
  collector, for each trace exporter, builds against the module *as the wheel installs it*
  (what a team's `make layer` does), contains exactly the components its components.go lists,
  and verifies against go.sum;
- nothing under tool/collector or template names this machine's paths.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from collector_build import build_collector, require_go
from render import Case

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "tool" / "collector"

# What each trace exporter's components.go lists (docs/architecture.md), as `components`
# prints it (otlp_http's deprecated alias otlphttp works too, but is not listed).
EXPECTED = {
    "awsxray": {
        "receivers": {"otlp"},
        "processors": {"batch"},
        "exporters": {"awsxray"},
        "extensions": set(),
        "connectors": set(),
    },
    "xray-otlp": {
        "receivers": {"otlp"},
        "processors": {"batch"},
        "exporters": {"otlp_http"},
        "extensions": {"sigv4auth"},
        "connectors": set(),
    },
}


def go_env() -> dict[str, str]:
    return {
        **os.environ,
        "CGO_ENABLED": "0",
        "GOTOOLCHAIN": "local",
        "GOWORK": "off",
        "GOFLAGS": "-mod=readonly",
    }


def run(cmd: list[str], cwd: Path, timeout: int = 1800, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        cmd, cwd=cwd, env=kwargs.pop("env", go_env()), capture_output=True, text=True,
        timeout=timeout, check=False, **kwargs,
    )  # fmt: skip


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, (result.stdout[-4000:], result.stderr[-4000:])
    return result.stdout


# ------------------------------------------------------------------------- the module itself


def test_module_is_gofmt_clean() -> None:
    require_go()
    assert ok(run(["gofmt", "-l", "."], MODULE)).split() == []


@pytest.mark.layer
def test_module_is_vet_clean() -> None:
    require_go()
    ok(run(["go", "vet", "./..."], MODULE))


@pytest.mark.layer
def test_module_unit_tests_pass() -> None:
    require_go()
    out = ok(run(["go", "test", "-count=1", "./..."], MODULE))
    for package in ("lambdaext", "awsxrayexporter", "otlphttpreceiver"):
        assert f"ok  \tlambdaotelxray/{package}" in out, out


def test_module_declares_the_services_go_version() -> None:
    """The module's go line is the one pins.yml gives every service's go.mod."""
    from lambda_otel_xray.layer import collector

    pins = {k: v["default"] for k, v in yaml.safe_load((ROOT / "pins.yml").read_text()).items()}
    go = pins["pin_go_version"]
    assert collector.go_requirement(MODULE) in (go, f"{go}.0")
    assert (MODULE / "go.mod").read_text().startswith(f"module {collector.MODULE_PATH}\n")


def machine_paths() -> list[str]:
    """Absolute paths of this machine that generated files could pick up."""
    paths = {str(ROOT), str(Path.home()), "/.cache/toolenvs/"}
    if len(ROOT.parts) > 2:  # /a/b/checkout: /a/b holds the other checkouts too
        paths.add(str(ROOT.parent))
    if os.environ.get("TOOLENV_CACHE_DIR"):
        paths.add(os.environ["TOOLENV_CACHE_DIR"])
    # Directories every machine has, that files name on purpose (a checkout in /tmp/ci must not
    # make the Dockerfile's /tmp a finding).
    shared = {"/", "/root", "/tmp", "/var/tmp", "/home", "/opt", "/srv", "/mnt", "/usr", "/var"}
    return sorted(p for p in paths if p not in shared)


def _names(text: str, path: str) -> bool:
    """Whether ``text`` names ``path``: an absolute one as a path of its own, not inside another
    (/work is in .github/workflows/); a fragment (/.cache/toolenvs/) anywhere."""
    if not Path(path).is_absolute() or path.startswith("/."):
        return path in text
    return re.search(rf"(?<![\w./-]){re.escape(path)}(?![\w.-])", text) is not None


@pytest.mark.parametrize("tree", ["tool/collector", "template"])
def test_no_file_names_this_machines_paths(tree: str) -> None:
    found = {}
    for path in sorted((ROOT / tree).rglob("*")):
        if not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        hits = [p for p in machine_paths() if _names(text, p)]
        if hits:
            found[str(path.relative_to(ROOT))] = hits
    assert not found, found


# -------------------------------------------------------------------- the build contract (no Go)

SERVICE_GO_MOD = """\
module lambdacollector

go 1.26.0

require (
\tgo.opentelemetry.io/collector/otelcol v0.165.0
\tlambdaotelxray v0.3.0
)
"""


def service(tmp_path: Path, go_mod: str = SERVICE_GO_MOD) -> Path:
    collector_dir = tmp_path / "svc" / "collector"
    collector_dir.mkdir(parents=True)
    (collector_dir / "go.mod").write_text(go_mod)
    (collector_dir / "go.sum").write_text("example.com/x v1.0.0 h1:abc=\n")
    return collector_dir


def test_modfile_wires_the_module_and_leaves_the_service_alone(tmp_path: Path) -> None:
    from lambda_otel_xray.layer import collector

    collector_dir = service(tmp_path)
    module = tmp_path / "site packages" / "lambda_otel_xray" / "collector"
    module.mkdir(parents=True)
    modfile = collector.write_modfile(collector_dir, module, tmp_path / "staging")
    assert modfile == tmp_path / "staging" / "collector.mod"
    # Relative to collector/ (Go resolves it from there), quoted (the space).
    relative = "../../site packages/lambda_otel_xray/collector"
    assert modfile.read_text() == SERVICE_GO_MOD + f'\nreplace lambdaotelxray => "{relative}"\n'
    assert (collector_dir / relative / "..").resolve() == module.parent
    assert modfile.with_suffix(".sum").read_text() == (collector_dir / "go.sum").read_text()
    assert (collector_dir / "go.mod").read_text() == SERVICE_GO_MOD
    assert sorted(p.name for p in collector_dir.iterdir()) == ["go.mod", "go.sum"]


def test_modfile_refuses_a_service_that_replaces_the_module(tmp_path: Path) -> None:
    from lambda_otel_xray.errors import ToolError
    from lambda_otel_xray.layer import collector

    collector_dir = service(tmp_path, SERVICE_GO_MOD + "\nreplace lambdaotelxray => ../fork\n")
    with pytest.raises(ToolError, match="replaces lambdaotelxray itself") as error:
        collector.write_modfile(collector_dir, tmp_path, tmp_path / "staging")
    assert "remove that replace" in error.value.fix


def test_missing_service_files_say_what_to_do(tmp_path: Path) -> None:
    from lambda_otel_xray.errors import ToolError
    from lambda_otel_xray.layer import collector

    collector_dir = service(tmp_path)
    (collector_dir / "go.sum").unlink()
    with pytest.raises(ToolError, match=r"go\.sum is missing") as error:
        collector.write_modfile(collector_dir, tmp_path, tmp_path / "staging")
    assert collector.TIDY_COMMAND in error.value.fix
    (collector_dir / "go.mod").write_text("module lambdacollector\n")
    with pytest.raises(ToolError, match="has no `go` line"):
        collector.go_requirement(collector_dir)
    (collector_dir / "go.mod").unlink()
    with pytest.raises(ToolError, match=r"go\.mod is missing"):
        collector.go_requirement(collector_dir)


def test_go_requirement_is_the_go_line(tmp_path: Path) -> None:
    from lambda_otel_xray.layer import collector

    assert collector.go_requirement(service(tmp_path)) == "1.26.0"


def test_build_flags_are_the_documented_ones() -> None:
    from lambda_otel_xray.layer import collector

    assert collector.build_flags() == ["-trimpath", "-ldflags", "-s -w", "-tags", "grpcnotrace"]


def module_dir_in(site: Path) -> subprocess.CompletedProcess:
    code = (
        "from lambda_otel_xray.errors import ToolError\n"
        "from lambda_otel_xray.layer.collector import module_dir\n"
        "try:\n    print(module_dir())\n"
        "except ToolError as error:\n    raise SystemExit(error.render())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    return run([sys.executable, "-c", code], site, timeout=60, env=env)


def test_module_dir_in_an_installed_package(tmp_path: Path) -> None:
    """Installed from a wheel, the module is the package's collector/; without it, an error
    that says to reinstall."""
    from lambda_otel_xray import layer

    site = tmp_path / "site"
    package = Path(layer.__file__).resolve().parent.parent
    shutil.copytree(package, site / "lambda_otel_xray", ignore=shutil.ignore_patterns("__py*"))
    missing = module_dir_in(site)
    assert missing.returncode == 1, missing.stderr
    assert "is missing from this installation" in missing.stderr
    assert "reinstall the tool" in missing.stderr
    (site / "lambda_otel_xray" / "collector").mkdir()
    (site / "lambda_otel_xray" / "collector" / "go.mod").write_text("module lambdaotelxray\n")
    assert ok(module_dir_in(site)).strip() == str(site / "lambda_otel_xray" / "collector")


def test_module_dir_in_the_checkout() -> None:
    from lambda_otel_xray.layer import collector

    module = collector.module_dir()
    assert (module / "go.mod").read_text().startswith("module lambdaotelxray\n")
    assert (module / "lambdaext").is_dir() and (module / "awsxrayexporter").is_dir()


# ---------------------------------------------- the wheel, and a service built against it


@pytest.fixture(scope="module")
def installed_tool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tool's wheel (built by pip from tool/, as a service's `make venv` installs it),
    unpacked into a directory that goes on PYTHONPATH."""
    out = tmp_path_factory.mktemp("wheel")
    ok(run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out),
            str(ROOT / "tool")], ROOT, timeout=600, env=dict(os.environ)))  # fmt: skip
    [wheel] = out.glob("lambda_otel_xray_tool-*.whl")
    site = out / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    return site


@pytest.mark.layer
def test_the_wheel_ships_the_module_without_its_tests(installed_tool: Path) -> None:
    module = installed_tool / "lambda_otel_xray" / "collector"
    shipped = sorted(p.relative_to(module).as_posix() for p in module.rglob("*") if p.is_file())
    assert "go.mod" in shipped and "go.sum" in shipped
    assert "lambdaext/extension.go" in shipped and "awsxrayexporter/segment.go" in shipped
    assert not [p for p in shipped if p.endswith("_test.go") or "testdata" in p], shipped
    go_sources = sorted(
        p.relative_to(MODULE).as_posix()
        for p in MODULE.rglob("*.go")
        if not p.name.endswith("_test.go")
    )
    assert [p for p in shipped if p.endswith(".go")] == go_sources


BUILD_SCRIPT = """\
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from collector_build import build_collector
build_collector(Path(sys.argv[1]), Path(sys.argv[2]))
"""


@pytest.mark.layer
@pytest.mark.parametrize("exporter", ["awsxray", "xray-otlp"])
def test_a_rendered_collector_builds_against_the_installed_module(
    render_case, installed_tool: Path, tmp_path: Path, exporter: str
) -> None:
    require_go()
    project = render_case(Case("sam", exporter, "x86_64"))
    collector_dir = project / "collector"
    assert sorted(p.name for p in collector_dir.iterdir()) == [
        "README.md", "components.go", "config.yaml", "go.mod", "go.sum", "main.go",
    ]  # fmt: skip
    assert ok(run(["gofmt", "-l", "."], collector_dir)).split() == []
    before = {p.name: p.read_bytes() for p in collector_dir.iterdir()}

    binary = tmp_path / "bin" / "collector"
    script = BUILD_SCRIPT.format(tests=str(ROOT / "tests"))
    env = {**os.environ, "PYTHONPATH": str(installed_tool)}
    ok(run([sys.executable, "-c", script, str(project), str(binary)], ROOT, env=env))
    modfile = tmp_path / "bin" / "gomod" / "collector.mod"
    assert '"../../' in modfile.read_text().splitlines()[-1]  # relative to collector/
    # The service's files are as rendered: the replace lives in the staged copy only.
    assert {p.name: p.read_bytes() for p in collector_dir.iterdir()} == before

    listing = yaml.safe_load(ok(run([str(binary), "components"], tmp_path)))
    kinds = {kind: {c["name"] for c in listing[kind] or []} for kind in EXPECTED[exporter]}
    assert kinds == EXPECTED[exporter]
    modules = {c["name"]: c["module"] for kind in EXPECTED[exporter] for c in listing[kind] or []}
    pins = {k: v["default"] for k, v in yaml.safe_load((ROOT / "pins.yml").read_text()).items()}
    # The module's own OTLP/HTTP receiver, under the core receiver's type.
    assert modules["otlp"] == f"lambdaotelxray/otlphttpreceiver v{pins['tool_version']}"
    if exporter == "awsxray":
        # The module's version is the one go.mod requires (a directory replacement has none).
        want = f"lambdaotelxray/awsxrayexporter v{pins['tool_version']}"
        assert modules["awsxray"] == want
    else:
        contrib = pins["pin_collector_contrib"]
        assert modules["sigv4auth"].endswith(f"sigv4authextension {contrib}")

    from lambda_otel_xray.layer import collector

    collector.validate(binary, collector_dir / "config.yaml")
    if exporter == "xray-otlp":  # a config written before v0.165.0 still validates
        config = (collector_dir / "config.yaml").read_text().replace("otlp_http", "otlphttp")
        assert "exporters: [otlphttp]" in config
        old_name = tmp_path / "config.yaml"
        old_name.write_text(config)
        collector.validate(binary, old_name)  # raises with the collector's message
    assert_region_comes_from_the_environment(binary, collector_dir / "config.yaml", exporter)

    # go.sum verifies: every downloaded module matches it. lambdaotelxray itself is a directory
    # (nothing downloaded); Go's verify cannot look a dotless path up in its cache and reports
    # it as "missing ziphash" (golang/go behaviour for dotless paths), the only line allowed.
    verify = run(["go", "mod", "verify", f"-modfile={modfile}"], collector_dir)
    lines = (verify.stdout + verify.stderr).strip().splitlines()
    assert lines == [f"lambdaotelxray v{pins['tool_version']}: missing ziphash: open hash: no "
                     "such file or directory"], lines  # fmt: skip


@pytest.mark.layer
def test_tidy_completes_go_mod_after_a_component_is_added(render_case, tmp_path: Path) -> None:
    """A team adds the debug exporter: components.go and a go.mod requirement by hand, then the
    build says go.sum is incomplete; `tidy` completes it and the component is in the binary."""
    require_go()
    from lambda_otel_xray.errors import ToolError
    from lambda_otel_xray.layer import collector

    project = tmp_path / "svc"
    shutil.copytree(render_case(Case("sam", "awsxray", "x86_64")), project)
    collector_dir = project / "collector"
    components = (collector_dir / "components.go").read_text()
    components = components.replace(
        '\t"go.opentelemetry.io/collector/otelcol"\n',
        '\t"go.opentelemetry.io/collector/exporter/debugexporter"\n'
        '\t"go.opentelemetry.io/collector/otelcol"\n',
    ).replace(
        "\t\tExporters: []lambdaext.Exporter{\n",
        "\t\tExporters: []lambdaext.Exporter{\n"
        '\t\t\t{Factory: debugexporter.NewFactory(), Module: "go.opentelemetry.io/collector/'
        'exporter/debugexporter"},\n',
    )
    (collector_dir / "components.go").write_text(components)
    pins = {k: v["default"] for k, v in yaml.safe_load((ROOT / "pins.yml").read_text()).items()}
    go_mod = (collector_dir / "go.mod").read_text()
    (collector_dir / "go.mod").write_text(
        go_mod.replace(
            "require (\n",
            f"require (\n\tgo.opentelemetry.io/collector/exporter/debugexporter "
            f"{pins['pin_collector_core']}\n",
            1,
        )
    )
    binary = tmp_path / "bin" / "collector"
    with pytest.raises(ToolError) as error:
        build_collector(project, binary)
    assert "does not cover what collector/components.go imports" in error.value.problem
    assert collector.TIDY_COMMAND in error.value.fix

    go = collector.find_go(collector.go_requirement(collector_dir))
    collector.tidy(go, collector_dir, collector.module_dir(), tmp_path / "tidy")
    tidied = (collector_dir / "go.mod").read_text()
    assert "replace" not in tidied and "lambdaotelxray v" in tidied
    assert "sigv4authextension" not in tidied  # nothing imports it any more
    build_collector(project, binary)
    listing = yaml.safe_load(ok(run([str(binary), "components"], tmp_path)))
    assert {c["name"] for c in listing["exporters"]} == {"awsxray", "debug"}


def test_components_template_says_how_to_add_a_component() -> None:
    text = (ROOT / "template/collector/components.go.jinja").read_text()
    assert "To add one" in text and "go.mod" in text
    readme = (ROOT / "template/collector/README.md").read_text()
    assert len(readme.splitlines()) <= 40
    assert "## Adding a component" in readme


def test_bump_and_build_agree_on_the_module_path() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    import bump
    from lambda_otel_xray.layer import collector

    assert bump.MODULE_PATH == collector.MODULE_PATH


def resolved_config(binary: Path, config: Path, region: str | None) -> dict:
    """The config as the collector resolves it (`print-config`), with AWS_REGION = region."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OTEL_"))}
    env.update(AWS_ACCESS_KEY_ID="placeholder", AWS_SECRET_ACCESS_KEY="placeholder",
               AWS_EC2_METADATA_DISABLED="true")  # fmt: skip
    if region is not None:
        env["AWS_REGION"] = region
    out = ok(run([str(binary), "print-config", f"--config=file:{config}"], config.parent, env=env))
    return yaml.safe_load(out)


def assert_region_comes_from_the_environment(binary: Path, config: Path, exporter: str) -> None:
    """Issue 17: a deploy to another region sends to and signs for the function's region
    (AWS_REGION, which Lambda sets); the rendered region (the case's us-east-1) is only the
    fallback where AWS_REGION is unset."""
    for region, want in (("eu-west-3", "eu-west-3"), (None, "us-east-1")):
        resolved = resolved_config(binary, config, region)
        if exporter == "awsxray":
            assert resolved["exporters"]["awsxray"]["region"] == want
        else:
            endpoint = resolved["exporters"]["otlp_http"]["traces_endpoint"]
            assert endpoint == f"https://xray.{want}.amazonaws.com/v1/traces"
            assert resolved["extensions"]["sigv4auth"]["region"] == want
