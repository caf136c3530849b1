"""The one table that maps the `architecture` answer to what each tool calls it."""

from __future__ import annotations

import platform
from dataclasses import dataclass

from .errors import ToolError


@dataclass(frozen=True)
class Platform:
    architecture: str  # the answer: x86_64 or arm64 (Lambda's name)
    docker: str  # docker build/run --platform
    goarch: str  # GOARCH of the collector build
    elf_machine: int  # e_machine of the extension binary's ELF header
    pip: str  # pip install --platform, for the layer's and the stand-ins' wheels
    debian: str  # dpkg architecture (debootstrap --arch)


PLATFORMS: dict[str, Platform] = {
    "x86_64": Platform("x86_64", "linux/amd64", "amd64", 0x3E, "manylinux2014_x86_64", "amd64"),
    "arm64": Platform("arm64", "linux/arm64", "arm64", 0xB7, "manylinux2014_aarch64", "arm64"),
}
# What other tools report for the same machines (uname, Docker, Go, dpkg).
ALIASES = {"amd64": "x86_64", "x86-64": "x86_64", "aarch64": "arm64"}


def normalize(name: str) -> str:
    """``name`` as Lambda calls it (x86_64 or arm64), whatever tool reported it."""
    lowered = name.strip().lower()
    return ALIASES.get(lowered, lowered)


def of(architecture: str) -> Platform:
    found = PLATFORMS.get(normalize(architecture))
    if found is None:
        raise ToolError(
            f"unknown architecture {architecture!r}",
            "use x86_64 or arm64 (the copier answer `architecture`)",
        )
    return found


def host_architecture() -> str:
    """This machine's architecture, as Lambda calls it."""
    return normalize(platform.machine())
