"""The answer matrix: iac x trace_exporter x architecture in full, with the triggers laid over it
so that iac x trigger is in full too, plus cases that give every other question's every value at
least one rendering."""

from __future__ import annotations

import itertools

from render import Case

IACS = ("sam", "cdk", "terraform")
EXPORTERS = ("awsxray", "xray-otlp")
ARCHITECTURES = ("x86_64", "arm64")
TRIGGERS = ("rest-api", "function-url", "sqs", "none")
DEFAULT_TRIGGER = "rest-api"
PYTHON_VERSIONS = ("3.10", "3.11", "3.12", "3.13", "3.14")


def _trigger(iac: str, exporter: str, arch: str) -> str:
    """Each iac has four exporter x architecture cases: give them the four triggers, rotated per
    iac so each trigger also meets different exporters and architectures."""
    slot = EXPORTERS.index(exporter) * len(ARCHITECTURES) + ARCHITECTURES.index(arch)
    return TRIGGERS[(slot + IACS.index(iac)) % len(TRIGGERS)]


# The full product of the axes that change generated infrastructure: iac x exporter x
# architecture (12 cases), which also holds every iac x trigger pair exactly once.
MATRIX: list[Case] = [
    Case(iac, exporter, arch, trigger=_trigger(iac, exporter, arch))
    for iac, exporter, arch in itertools.product(IACS, EXPORTERS, ARCHITECTURES)
]

# Every Python version and instrumentation appears at least once, spread over the IaC tools.
EXTRA: list[Case] = [
    Case("sam", "awsxray", "x86_64", {"python_version": "3.10"}, trigger="sqs"),
    Case("cdk", "xray-otlp", "arm64", {"python_version": "3.11"}, trigger="function-url"),
    Case("terraform", "awsxray", "arm64", {"python_version": "3.12"}, trigger="rest-api"),
    Case(
        "sam",
        "xray-otlp",
        "arm64",
        {
            "python_version": "3.14",
            "instrumentations": ["botocore", "requests", "urllib3", "httpx"],
            "aws_region": "ap-northeast-1",
            "memory_size": 1024,
            "timeout": 30,
            "project_name": "注文サービス",
            "project_slug": "chumon-service",
        },
        trigger="none",
    ),
]

ALL_CASES: list[Case] = MATRIX + EXTRA
