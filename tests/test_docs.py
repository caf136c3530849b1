"""The documentation site: it builds with `mkdocs build --strict`, its generated pages match
their sources, and every page is in the nav."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.render

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MKDOCS_YML = ROOT / "mkdocs.yml"
GENERATORS = ("scripts/gen_questions_doc.py", "scripts/gen_benchmarks_doc.py")


def _load_script(relative: str) -> ModuleType:
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


class _MkDocsLoader(yaml.SafeLoader):
    """Reads mkdocs.yml, whose markdown_extensions use `!!python/name:` tags."""


_MkDocsLoader.add_multi_constructor(
    "tag:yaml.org,2002:python/name:", lambda loader, suffix, node: suffix
)


def _nav_pages(entries: Any) -> list[str]:
    pages: list[str] = []
    if isinstance(entries, str):
        if not entries.startswith(("http://", "https://")):
            pages.append(entries)
    elif isinstance(entries, list):
        for entry in entries:
            pages += _nav_pages(entry)
    elif isinstance(entries, dict):
        for value in entries.values():
            pages += _nav_pages(value)
    return pages


def test_site_builds_strict(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(MKDOCS_YML),
            "--site-dir",
            str(site),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}{result.stderr}"
    for page in _nav_pages(yaml.load(MKDOCS_YML.read_text(), Loader=_MkDocsLoader)["nav"]):
        built = site / (
            "index.html" if page == "index.md" else Path(page).with_suffix("") / "index.html"
        )
        assert built.is_file(), f"{page} was not built ({built})"


@pytest.mark.parametrize("script", GENERATORS)
def test_generated_pages_are_up_to_date(script: str) -> None:
    result = subprocess.run(
        [sys.executable, script, "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (
        f"{script} --check failed (regenerate with `.venv/bin/python {script}`):\n"
        f"{result.stdout}{result.stderr}"
    )


def test_every_page_is_in_the_nav() -> None:
    config = yaml.load(MKDOCS_YML.read_text(), Loader=_MkDocsLoader)
    nav = _nav_pages(config["nav"])
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    assert sorted(set(nav)) == sorted(nav), f"pages listed twice in the nav: {nav}"
    assert not set(pages) - set(nav), f"pages missing from the nav: {set(pages) - set(nav)}"
    assert not set(nav) - set(pages), f"nav entries without a page: {set(nav) - set(pages)}"


def test_questions_page_covers_every_question_and_pin() -> None:
    gen = _load_script("scripts/gen_questions_doc.py")
    config, included = gen.load_copier_config(ROOT / "copier.yml")
    assert any(p.name == "pins.yml" for p in included), "copier.yml no longer includes pins.yml"
    text = gen.generate()
    names = [k for k, v in config.items() if not k.startswith("_") and isinstance(v, dict)]
    assert any(n.startswith("pin_") for n in names), "the pins from pins.yml were not merged"
    for name in names:
        assert f"`{name}`" in text, f"{name} is missing from the questions page"
    for name, spec in config.items():
        if isinstance(spec, dict) and spec.get("validator"):
            rules, _ = gen.parse_validator(str(spec["validator"]), name)
            assert rules, f"no rule read from the validator of {name}"


def test_benchmarks_page_says_what_is_not_measured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gen = _load_script("scripts/gen_benchmarks_doc.py")
    monkeypatch.setattr(gen, "RESULTS", tmp_path)
    empty = gen.generate()
    assert empty.count("**Not measured yet.**") == len(gen.EXPECTED)
    (tmp_path / "cold_start.json").write_text(
        '{"command": "python bench/cold_start.py", "machine": "test", "goal_ms": 900,'
        ' "results": {"with_layer": {"median_ms": 850.0, "runs": 3}}}'
    )
    (tmp_path / "extra.json").write_text('{"results": {"a": 1}}')
    text = gen.generate()
    assert text.count("**Not measured yet.**") == len(gen.EXPECTED) - 1
    assert "python bench/cold_start.py" in text
    assert "| with_layer | 850 | 3 | yes |" in text
    assert "no `command` key" in text  # extra.json is shown, flagged as not reproducible
