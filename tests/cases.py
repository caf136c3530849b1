"""The answer matrix: iac x trace_exporter x architecture in full, plus cases that give every
other question's every value at least one rendering."""

from __future__ import annotations

import itertools

from render import Case

IACS = ("sam", "cdk", "terraform")
EXPORTERS = ("awsxray", "xray-otlp")
ARCHITECTURES = ("x86_64", "arm64")
PYTHON_VERSIONS = ("3.10", "3.11", "3.12", "3.13", "3.14")

# The full product of the three axes that change generated infrastructure.
MATRIX: list[Case] = [
    Case(iac, exporter, arch)
    for iac, exporter, arch in itertools.product(IACS, EXPORTERS, ARCHITECTURES)
]

# Every Python version and instrumentation appears at least once, spread over the IaC tools.
EXTRA: list[Case] = [
    Case("sam", "awsxray", "x86_64", {"python_version": "3.10"}),
    Case("cdk", "xray-otlp", "arm64", {"python_version": "3.11"}),
    Case("terraform", "awsxray", "arm64", {"python_version": "3.12"}),
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
    ),
]

ALL_CASES: list[Case] = MATRIX + EXTRA
