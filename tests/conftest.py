"""Shared fixtures: one committed template snapshot per session, rendered projects cached per
case so every concern (rendering, IaC, layer, ...) reuses them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from render import Case, render
from template_repo import snapshot

# A developer's own Copier settings must not leak into the tests (field notes).
os.environ["COPIER_SETTINGS_PATH"] = str(Path(__file__).parent / "copier-settings.yml")


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return snapshot(tmp_path_factory.mktemp("template") / "repo")


@pytest.fixture(scope="session")
def render_case(template_repo: Path, tmp_path_factory: pytest.TempPathFactory):
    """Render a case once per session; later calls return the same directory."""
    cache: dict[str, Path] = {}

    def _render(case: Case) -> Path:
        if case.id not in cache:
            dest = tmp_path_factory.mktemp("rendered") / case.answers()["project_slug"]
            cache[case.id] = render(template_repo, dest, case.answers())
        return cache[case.id]

    return _render
