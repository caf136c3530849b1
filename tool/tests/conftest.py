"""Fixtures for the tool's unit tests: a service checkout made of an answers file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ANSWERS = {
    "_commit": "0.3.0",
    "_src_path": "https://example.invalid/org/template.git",
    "project_name": "Order Service",
    "project_slug": "order-service",
    "python_version": "3.13",
    "architecture": "arm64",
    "memory_size": 512,
    "timeout": 10,
    "aws_region": "eu-west-1",
    "iac": "sam",
    "trigger": "rest-api",
    "trace_exporter": "awsxray",
    "instrumentations": ["botocore"],
}


@pytest.fixture
def service_dir(tmp_path: Path) -> Path:
    root = tmp_path / "order-service"
    root.mkdir()
    (root / ".copier-answers.yml").write_text(yaml.safe_dump(ANSWERS))
    return root
