#!/usr/bin/env python3
"""Generate macros/reserved_names.jinja: the Python package names a service cannot take.

    .venv/bin/python scripts/gen_reserved_names.py          # write macros/reserved_names.jinja
    .venv/bin/python scripts/gen_reserved_names.py --check  # exit 1 if a name is missing

The package is the slug with `-` as `_`, copied to ${LAMBDA_TASK_ROOT}, which Lambda puts first
on sys.path (and the unit tests run with the project root first). A package named like a module
that the function or its tests import replaces that module for every importer: `queue`,
`email`, `boto3` or `opentelemetry` would break the function at its first import. So the
project_slug validator (macros/answers.jinja) refuses, in four lists:

- keywords: Python's hard keywords (`keyword.kwlist`): `import lambda` is a syntax error;
- stdlib: the standard library of every Python the template offers (copier.yml's
  python_version choices), from the pinned `stdlibs` package, which reads each release's module
  list from CPython's sources: a superset of that release's `sys.stdlib_module_names`, so a
  module removed in 3.13 (`imp`, `asynchat`) stays reserved for the 3.10-3.12 runtimes;
- packages: the top-level import names of every distribution installed, in a venv, from a
  rendered service's requirements (all instrumentations selected) plus what the Lambda base
  image brings (awslambdaric, boto3) and the libraries the instrumentations instrument;
- layout: the top-level files and folders of a rendered service (every iac x trigger) and the
  template's own tool modules, so `app` cannot hide app.py (the image's CMD) nor `tests` merge
  into tests/.

`--check` (and tests/test_reserved_names.py) require keywords and stdlib to match exactly and
the other two to contain everything found today: a name a new dependency brings is a failure,
a name a dependency stopped shipping is harmless (still refused) until the next regeneration.
Needs copier and stdlibs (the `test` dependency group) and pip access for the venv.
"""

from __future__ import annotations

import argparse
import importlib
import json
import keyword
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

OUTPUT = ROOT / "macros" / "reserved_names.jinja"
REGENERATE = ".venv/bin/python scripts/gen_reserved_names.py"
# What a package name derived from a slug can look like (copier.yml's slug rule, `-` as `_`).
PACKAGE_NAME = re.compile(r"^[a-z][a-z0-9_]{2,63}$")
CATEGORIES = ("keywords", "stdlib", "packages", "layout")
EXACT = ("keywords", "stdlib")

# Installed in the function's environment without being in the service's requirements files.
BASE_IMAGE_DISTRIBUTIONS = ["awslambdaric", "boto3"]
# The libraries behind the optional instrumentations: a service that selects one installs it.
INSTRUMENTED_LIBRARIES = ["requests", "urllib3", "httpx"]
# Module names of the template's tooling, whether a service carries it or installs it.
TOOL_MODULES = ["layerbuild", "localrun", "lambda_otel_xray"]
# Made by the build, not rendered: build/layer.zip.
BUILD_OUTPUTS = ["build"]


def _names(candidates: Iterable[str], *, fold_case: bool = False) -> list[str]:
    """The candidates a package name could equal. Imports match case even on a case-insensitive
    file system, so only layout names (files and folders beside the package) fold case."""
    folded = (c.lower() if fold_case else c for c in candidates)
    return sorted({c for c in folded if PACKAGE_NAME.match(c)})


def python_versions() -> list[str]:
    import yaml

    config = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8").split("\n---")[0])
    return [str(v) for v in config["python_version"]["choices"]]


def stdlib_names() -> list[str]:
    found: set[str] = set(sys.stdlib_module_names)
    for version in python_versions():
        module = importlib.import_module("stdlibs.py" + version.replace(".", ""))
        found |= set(module.module_names)
    return _names(found)


def rendered_services(workdir: Path) -> list[Path]:
    """One service per iac x trigger, every instrumentation selected."""
    from render import render
    from template_repo import snapshot

    template = snapshot(workdir / "template")
    services = []
    for iac in ("sam", "cdk", "terraform"):
        for trigger in ("rest-api", "function-url", "sqs", "none"):
            dest = workdir / f"{iac}-{trigger}"
            answers = {
                "project_slug": "reserved-names-probe",
                "iac": iac,
                "trigger": trigger,
                "instrumentations": ["botocore", "requests", "urllib3", "httpx"],
            }
            services.append(render(template, dest, answers))
    return services


def layout_names(services: list[Path]) -> list[str]:
    found: set[str] = set(TOOL_MODULES) | set(BUILD_OUTPUTS)
    for service in services:
        package = answers_of(service)["project_slug"].replace("-", "_")
        for entry in service.iterdir():
            name = entry.stem if entry.suffix == ".py" else entry.name
            if name != package:
                found.add(name)
    return _names(found, fold_case=True)


def answers_of(service: Path) -> dict[str, str]:
    import yaml

    return yaml.safe_load((service / ".copier-answers.yml").read_text(encoding="utf-8"))


def tool_dependencies() -> list[str]:
    """What the service's pinned tool brings into its venv: its own dependencies (the tool's
    pin itself names the template commit, which changes with every commit)."""
    import tomllib

    project = tomllib.loads((ROOT / "tool" / "pyproject.toml").read_text(encoding="utf-8"))
    return list(project["project"]["dependencies"])


def requirement_lines(service: Path) -> list[str]:
    lines: list[str] = tool_dependencies()
    for name in ("requirements-otel.txt", "requirements-dev.txt", "requirements.txt"):
        for line in (service / name).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "-r", "lambda-otel-xray-tool @")):
                lines.append(line)
    return sorted({*lines, *BASE_IMAGE_DISTRIBUTIONS, *INSTRUMENTED_LIBRARIES})


def package_names(service: Path) -> list[str]:
    from toolenv import tool_venv, venv_bin

    venv = tool_venv("reserved-names", requirement_lines(service))
    listing = subprocess.run(
        [
            str(venv_bin(venv, "python")),
            "-c",
            "import importlib.metadata as m, json\n"
            "print(json.dumps(list(m.packages_distributions())))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # The tool's own package is in the dev venv too (and its runtime part in the layer).
    return _names([*json.loads(listing), "lambda_otel_xray"])


def compute() -> dict[str, list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        services = rendered_services(Path(tmp))
        stdlib = stdlib_names()
        names = {
            "keywords": _names(keyword.kwlist),
            "stdlib": stdlib,
            "packages": [n for n in package_names(services[0]) if n not in stdlib],
            "layout": layout_names(services),
        }
    return names


# ----------------------------------------------------------------------------- the file
HEADER = f"""\
{{#- GENERATED by scripts/gen_reserved_names.py. Do not edit: run `{REGENERATE}`.
    Package names (the slug with `-` as `_`) that project_slug's validator refuses; why each list
    exists is in the script's docstring. -#}}
"""


def render_file(names: dict[str, list[str]]) -> str:
    out = [HEADER]
    for category in CATEGORIES:
        out.append(f"{{%- set {category} = [")
        line = "   "
        for name in names[category]:
            item = f" '{name}',"
            if len(line) + len(item) > 99:
                out.append(line)
                line = "   "
            line += item
        out.append(line)
        out.append("] -%}")
    return "\n".join(out) + "\n"


def read_file(path: Path = OUTPUT) -> dict[str, list[str]]:
    text = path.read_text(encoding="utf-8")
    found: dict[str, list[str]] = {}
    for category in CATEGORIES:
        match = re.search(r"set " + category + r" = \[(.*?)\]", text, re.DOTALL)
        found[category] = re.findall(r"'([^']+)'", match[1]) if match else []
    return found


def problems(current: dict[str, list[str]], computed: dict[str, list[str]]) -> list[str]:
    """What is wrong with the checked-in lists: exact ones that differ, names missing from the
    others."""
    out = []
    for category in CATEGORIES:
        have, want = set(current.get(category, [])), set(computed[category])
        if category in EXACT and have != want:
            out.append(f"{category}: missing {sorted(want - have)}, extra {sorted(have - want)}")
        elif category not in EXACT and want - have:
            out.append(f"{category}: missing {sorted(want - have)}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a name is missing")
    args = parser.parse_args(argv)
    computed = compute()
    if args.check:
        found = problems(read_file(), computed) if OUTPUT.is_file() else ["file missing"]
        for problem in found:
            print(problem, file=sys.stderr)
        if found:
            print(f"{OUTPUT} is out of date: run `{REGENERATE}`", file=sys.stderr)
        return 1 if found else 0
    OUTPUT.write_text(render_file(computed), encoding="utf-8")
    print(f"wrote {OUTPUT}: " + ", ".join(f"{len(computed[c])} {c}" for c in CATEGORIES))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
