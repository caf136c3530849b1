"""The instrumentations' library version checks: once at image build, never at a cold start.

Every instrumentor module imports `opentelemetry.instrumentation.dependencies`, which imports
`packaging.requirements` (markers, specifiers, tags, their regular expressions): ~11 ms of
every cold start (docs/decisions.md, decision 12), for a check `configure()` skips
(`skip_dep_check=True`) because the Dockerfile runs it once instead (`python -m
<package>.telemetry` -> `check`). `deferred()` lets the instrumentors import without it: while
they load, a stand-in module takes that name; it loads the real one only if a check is asked
for after all. `packaging.version` (its big regular expression compiled at import, ~2 ms),
which the instrumentations' semantic-conventions helper uses only in a function none of ours
calls at init, is loaded lazily (importlib's LazyLoader: on first attribute access).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
import types
from collections.abc import Iterator, Mapping
from typing import Any

NAME = "opentelemetry.instrumentation.dependencies"
LAZY = ("packaging.version",)
# (module, class) per library; "" for the aws-lambda instrumentation, which needs no library.
Instrumentors = Mapping[str, tuple[str, str]]
AWS_LAMBDA = ("opentelemetry.instrumentation.aws_lambda", "AwsLambdaInstrumentor")


def _real() -> types.ModuleType:
    module = sys.modules.get(NAME)
    if module is None or getattr(module, "_otel_lambda_stand_in", False):
        sys.modules.pop(NAME, None)
        module = importlib.import_module(NAME)
    return module


class _DeferredConflictError(Exception):
    """Raised by the instrumentor only for auto-instrumentation's dependency checks, which this
    function does not run; defined so the import succeeds."""


def _stand_in() -> types.ModuleType:
    module = types.ModuleType(NAME, "Stand-in until a dependency check is asked for.")
    module._otel_lambda_stand_in = True  # type: ignore[attr-defined]

    def get_dependency_conflicts(*args: Any, **kwargs: Any) -> Any:
        real = _real()
        # The instrumentor module bound the stand-in's names at import; point them at the real
        # ones, now that they are loaded anyway.
        instrumentor = sys.modules.get("opentelemetry.instrumentation.instrumentor")
        if instrumentor is not None:
            for name in (
                "DependencyConflict",
                "DependencyConflictError",
                "get_dependency_conflicts",
            ):
                if getattr(instrumentor, name, None) is getattr(module, name, None):
                    setattr(instrumentor, name, getattr(real, name))
        return real.get_dependency_conflicts(*args, **kwargs)

    module.get_dependency_conflicts = get_dependency_conflicts  # type: ignore[attr-defined]
    module.DependencyConflict = object  # type: ignore[attr-defined]  # annotations only
    module.DependencyConflictError = _DeferredConflictError  # type: ignore[attr-defined]
    return module


def _lazy(name: str) -> None:
    """Put ``name`` in sys.modules as a module that executes on first attribute access."""
    if name in sys.modules:
        return
    try:
        spec = importlib.util.find_spec(name)
    except ImportError:
        return
    if spec is None or spec.loader is None:
        return
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    if parent in sys.modules:
        setattr(sys.modules[parent], child, module)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Import instrumentors inside this block without loading `packaging`. Afterwards the name
    is free again, so anything importing it later gets the real module."""
    for name in LAZY:
        _lazy(name)
    if NAME in sys.modules:
        yield
        return
    stand_in = _stand_in()
    sys.modules[NAME] = stand_in
    try:
        yield
    finally:
        if sys.modules.get(NAME) is stand_in:
            del sys.modules[NAME]


def conflicts(instrumentors: Instrumentors) -> tuple[list[str], list[str]]:
    """(conflicts, not installed): instrumentations whose library is at a version they do not
    support or that cannot load, and the chosen libraries that are not installed at all."""
    found, missing = [], []
    get_dependency_conflicts = _real().get_dependency_conflicts
    for library, (module_name, class_name) in [*instrumentors.items(), ("", AWS_LAMBDA)]:
        if library and importlib.util.find_spec(library) is None:
            missing.append(library)
            continue
        try:
            instrumentor = getattr(importlib.import_module(module_name), class_name)()
        except ImportError as error:
            found.append(f"{module_name} cannot be imported ({error})")
            continue
        conflict = get_dependency_conflicts(instrumentor.instrumentation_dependencies())
        if conflict is not None:
            found.append(f"{class_name}: {str(conflict).rstrip('.')}")
    return found, missing


def check(instrumentors: Instrumentors) -> int:
    """What `make image` runs in the image: 1 (with what to change) on a version mismatch."""
    found, missing = conflicts(instrumentors)
    for library in missing:
        print(
            f"warning: {library} is not installed, so it will not be instrumented; add it to "
            "requirements.txt or drop it from the copier answer `instrumentations`.",
            file=sys.stderr,
        )
    for conflict in found:
        print(
            f"error: {conflict}. Pin a version the instrumentation supports in "
            "requirements.txt, or drop it from the copier answer `instrumentations` "
            "(copier update -d instrumentations=...).",
            file=sys.stderr,
        )
    return 1 if found else 0
