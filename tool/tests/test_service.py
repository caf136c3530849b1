"""The service's answers, as the tool reads them from .copier-answers.yml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from lambda_otel_xray.errors import ToolError
from lambda_otel_xray.service import Service


def test_answers_and_what_follows_from_them(service_dir: Path) -> None:
    service = Service.load(service_dir)
    assert service.root == service_dir.resolve()
    assert service.function_name == "order-service"
    assert service.package_name == "order_service"
    assert (service.python_version, service.architecture) == ("3.13", "arm64")
    assert service.platform.docker == "linux/arm64"
    assert (service.memory_mb, service.timeout_s, service.region) == (512, 10, "eu-west-1")
    assert (service.iac, service.exporter, service.trigger) == ("sam", "awsxray", "rest-api")
    assert service.code == ("app.py", "order_service")
    assert service.collector_config == service_dir.resolve() / "collector" / "config.yaml"
    assert service.image == "order-service:latest"


def test_found_from_a_folder_inside_the_service(service_dir: Path) -> None:
    inner = service_dir / "order_service" / "deep"
    inner.mkdir(parents=True)
    assert Service.load(inner).root == service_dir.resolve()


def test_a_service_without_the_trigger_answer_has_none(service_dir: Path) -> None:
    path = service_dir / ".copier-answers.yml"
    answers = yaml.safe_load(path.read_text())
    del answers["trigger"]  # rendered before the question existed
    path.write_text(yaml.safe_dump(answers))
    assert Service.load(service_dir).trigger == "none"


def test_outside_a_service_says_where_to_run(tmp_path: Path) -> None:
    with pytest.raises(ToolError) as error:
        Service.load(tmp_path)
    assert "not inside a service rendered from the template" in error.value.problem
    assert "Makefile" in error.value.fix


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("project_slug: [unclosed", "is not valid YAML"),
        ("- a list\n", "holds no answers"),
        ("project_slug: x\n", "lacks the answers"),
    ],
    ids=["not-yaml", "not-a-mapping", "missing-keys"],
)
def test_a_broken_answers_file_is_named(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / ".copier-answers.yml").write_text(text)
    with pytest.raises(ToolError) as error:
        Service.load(tmp_path)
    assert problem in error.value.problem
    assert error.value.fix


def test_an_unknown_architecture_is_refused(service_dir: Path) -> None:
    path = service_dir / ".copier-answers.yml"
    answers = yaml.safe_load(path.read_text())
    answers["architecture"] = "sparc"
    path.write_text(yaml.safe_dump(answers))
    with pytest.raises(ToolError, match="unknown architecture 'sparc'"):
        _ = Service.load(service_dir).platform
