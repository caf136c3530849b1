"""One table maps the `architecture` answer to each tool's name for it."""

from __future__ import annotations

import pytest
from lambda_otel_xray import platforms
from lambda_otel_xray.errors import ToolError


def test_the_table_covers_lambdas_architectures() -> None:
    assert sorted(platforms.PLATFORMS) == ["arm64", "x86_64"]
    x86, arm = platforms.of("x86_64"), platforms.of("arm64")
    assert (x86.docker, x86.goarch, x86.elf_machine, x86.pip) == (
        "linux/amd64",
        "amd64",
        0x3E,
        "manylinux2014_x86_64",
    )
    assert (arm.docker, arm.goarch, arm.elf_machine, arm.pip) == (
        "linux/arm64",
        "arm64",
        0xB7,
        "manylinux2014_aarch64",
    )
    for name, platform in platforms.PLATFORMS.items():
        assert platform.architecture == name
        assert platform.docker == f"linux/{platform.goarch}"


@pytest.mark.parametrize(
    ("reported", "lambda_name"),
    [("amd64", "x86_64"), ("x86_64", "x86_64"), ("AARCH64", "arm64"), ("arm64", "arm64")],
)
def test_other_tools_names_normalize(reported: str, lambda_name: str) -> None:
    assert platforms.normalize(reported) == lambda_name
    assert platforms.of(reported).architecture == lambda_name


def test_an_unknown_architecture_says_what_to_use() -> None:
    with pytest.raises(ToolError) as error:
        platforms.of("riscv64")
    assert "x86_64 or arm64" in error.value.fix


def test_this_machine_is_one_lambda_knows() -> None:
    assert platforms.host_architecture() in platforms.PLATFORMS
