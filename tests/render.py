"""Rendering helpers shared by every test module."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import copier

# Answers that make one case; ids read like "sam-awsxray-x86_64-rest-api".
BASE_ANSWERS: dict[str, Any] = {
    "project_name": "Order Service",
    "project_slug": "order-service",
}


@dataclass(frozen=True)
class Case:
    iac: str
    trace_exporter: str
    architecture: str
    extra: dict[str, Any] = field(default_factory=dict)
    # None: the template's default trigger (what `copier copy --defaults` renders).
    trigger: str | None = None

    @property
    def id(self) -> str:
        parts = [self.iac, self.trace_exporter, self.architecture]
        if self.trigger is not None:
            parts.append(self.trigger)
        parts += [f"{k}={v}" for k, v in sorted(self.extra.items())]
        return "-".join(str(p) for p in parts)

    def answers(self) -> dict[str, Any]:
        trigger = {} if self.trigger is None else {"trigger": self.trigger}
        return {
            **BASE_ANSWERS,
            "iac": self.iac,
            "trace_exporter": self.trace_exporter,
            "architecture": self.architecture,
            **trigger,
            **self.extra,
        }


def render(template: Path, dest: Path, answers: dict[str, Any], *, skip_tasks: bool = True) -> Path:
    """Render the template at HEAD of ``template`` into ``dest`` (tasks skipped by default)."""
    copier.run_copy(
        str(template),
        str(dest),
        data=answers,
        vcs_ref="HEAD",
        defaults=True,
        unsafe=True,
        quiet=True,
        skip_tasks=skip_tasks,
    )
    return dest
