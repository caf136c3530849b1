"""The post-generation hook's decisions, without building anything."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hooks.layer_build import main, run_layer_build

pytestmark = pytest.mark.render


@pytest.fixture
def go_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A `go` that exists, so the hook goes on to run the project's build."""
    fake_go = tmp_path / "bin" / "go"
    fake_go.parent.mkdir()
    fake_go.write_text("#!/bin/sh\nexit 0\n")
    fake_go.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_go.parent}:/usr/bin:/bin")


def test_without_go_the_render_stands_and_says_how_to_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    outcome = run_layer_build(tmp_path)
    assert not outcome.built
    assert "Go is not installed" in outcome.message
    assert "make layer" in outcome.message


def test_without_make_the_render_stands_and_says_how_to_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_go = tmp_path / "go"
    fake_go.write_text("#!/bin/sh\nexit 0\n")
    fake_go.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    outcome = run_layer_build(tmp_path)
    assert not outcome.built
    assert "make is not installed" in outcome.message
    assert "make layer" in outcome.message


@pytest.mark.usefixtures("go_on_path")
def test_failed_build_is_reported_not_fatal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A project directory without a Makefile: `make layer` fails at once.
    assert main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "layer build failed" in out
    assert "make layer" in out


@pytest.mark.usefixtures("go_on_path")
def test_an_unexpected_error_never_fails_the_render(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A failing task makes Copier delete the whole rendered project, so main() reports instead.
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    assert main([str(not_a_directory)]) == 0  # subprocess cannot chdir into a file
    out = capsys.readouterr().out
    assert "layer not built (NotADirectoryError" in out
    assert "make layer" in out
