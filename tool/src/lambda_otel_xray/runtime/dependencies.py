"""The instrumentations' library version checks: once at image build, never at a cold start.

Every instrumentor module imports `opentelemetry.instrumentation.dependencies`, which imports
`packaging.requirements` (markers, specifiers, tags, their regular expressions): ~11 ms of
every cold start (docs/decisions.md, decision 12), for a check `configure()` skips
(`skip_dep_check=True`) because the Dockerfile runs it once instead (`python -m
<package>.telemetry` -> `check`). `deferred()` lets the instrumentors import without it: while
they load, a stand-in module takes that name; it loads the real one only if a check is asked
for after all.

The base instrumentor module also imports the semantic-conventions helper
(`opentelemetry.instrumentation._semconv`: a dozen attribute modules with their enums, and
`packaging.version`; ~9 ms), only to call its `_initialize()` in `instrument()`. The aws-lambda
and botocore instrumentations never use it; the HTTP client ones (requests, urllib3, httpx)
import it themselves. So the instrumentor module is imported against a stand-in whose
`_initialize()` reaches the real one once anything has loaded it, and the name is free again
before any instrumentation is imported. Should a future instrumentor module need more of either
module than the stand-ins offer, it is imported as it is (no saving, no failure).
`packaging.version` itself is loaded lazily (importlib's LazyLoader: on first attribute access).
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
SEMCONV = "opentelemetry.instrumentation._semconv"
INSTRUMENTOR = "opentelemetry.instrumentation.instrumentor"
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


def _semconv_stand_in() -> types.ModuleType:
    module = types.ModuleType(SEMCONV, "Stand-in while the base instrumentor module loads.")
    module._otel_lambda_stand_in = True  # type: ignore[attr-defined]

    class _OpenTelemetrySemanticConventionStability:
        """What the base instrumentor calls in `instrument()`; the real class's state matters
        only to instrumentations that load the real module, so it is initialized then."""

        @classmethod
        def _initialize(cls) -> None:
            real = sys.modules.get(SEMCONV)
            if real is not None and not getattr(real, "_otel_lambda_stand_in", False):
                real._OpenTelemetrySemanticConventionStability._initialize()

    module._OpenTelemetrySemanticConventionStability = _OpenTelemetrySemanticConventionStability  # type: ignore[attr-defined]
    return module


def _import_instrumentor(stand_ins: dict[str, types.ModuleType]) -> None:
    """The base instrumentor module, against ``stand_ins``; as it is if they do not suffice."""
    sys.modules.update(stand_ins)
    try:
        importlib.import_module(INSTRUMENTOR)
    except ImportError:
        for name in (*stand_ins, INSTRUMENTOR):
            if name == INSTRUMENTOR or sys.modules.get(name) is stand_ins[name]:
                sys.modules.pop(name, None)
        importlib.import_module(INSTRUMENTOR)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Import instrumentors inside this block without loading `packaging` or the
    semantic-conventions helper at init. Afterwards the names are free again, so anything
    importing them later gets the real modules."""
    for name in LAZY:
        _lazy(name)
    stand_ins: dict[str, types.ModuleType] = {}
    if INSTRUMENTOR not in sys.modules:
        if NAME not in sys.modules:
            stand_ins[NAME] = _stand_in()
        if SEMCONV not in sys.modules:
            stand_ins[SEMCONV] = _semconv_stand_in()
        _import_instrumentor(stand_ins)
        # The instrumentations that use the helper import the real one.
        if sys.modules.get(SEMCONV) is stand_ins.get(SEMCONV):
            del sys.modules[SEMCONV]
    elif NAME not in sys.modules:
        stand_ins[NAME] = sys.modules[NAME] = _stand_in()
    try:
        yield
    finally:
        stand_in = stand_ins.get(NAME)
        if stand_in is not None and sys.modules.get(NAME) is stand_in:
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
