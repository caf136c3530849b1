"""Post-generation layer build: `make layer` in the rendered service.

`make layer` creates the service's .venv from requirements-dev.txt, which installs the pinned
tooling (`lambda-otel-xray`, from the template repository at the rendered commit), then runs
`lambda-otel-xray layer`: the same command a developer runs later, so the first build is the
ordinary one. Runs once, on `copier copy` only (Copier runs tasks three times during `update`;
updates rebuild through a migration instead). A missing Go or make, or a failed build, never
undoes the render: the project is complete without build/, and the message says how to build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

LATER = "build it later with `make layer` (or `make layer-docker` on a machine with Docker)"


@dataclass(frozen=True)
class Outcome:
    built: bool
    message: str


def run_layer_build(project: Path) -> Outcome:
    for tool, why in (("go", "Go"), ("make", "make")):
        if shutil.which(tool) is None:
            return Outcome(False, f"layer not built: {why} is not installed here; {LATER}")
    print(f"Building the OpenTelemetry layer in {project} (make layer) ...", flush=True)
    result = subprocess.run(["make", "layer"], cwd=project, env=dict(os.environ), check=False)
    if result.returncode != 0:
        return Outcome(
            False,
            f"layer build failed (exit {result.returncode}, see above); the project itself is "
            f"complete: fix the cause, then {LATER.removeprefix('build it later with ')}",
        )
    return Outcome(True, f"layer built: {project / 'build' / 'layer.zip'}")


def main(argv: list[str]) -> int:
    """Always exits 0: a failing task makes Copier delete the whole rendered project."""
    project = (Path(argv[0]) if argv else Path.cwd()).resolve()
    try:
        outcome = run_layer_build(project)
    except Exception as error:
        outcome = Outcome(False, f"layer not built ({type(error).__name__}: {error}); {LATER}")
    print(outcome.message, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
