"""Just enough ELF parsing to tell a binary's machine and whether it is statically linked."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from lambda_otel_xray.platforms import PLATFORMS

# e_machine -> Lambda architecture (the tool's one table).
MACHINES = {p.elf_machine: p.architecture for p in PLATFORMS.values()}
PT_INTERP = 3
PT_DYNAMIC = 2


@dataclass(frozen=True)
class ElfInfo:
    architecture: str
    static: bool


def inspect(path: Path) -> ElfInfo:
    data = path.read_bytes()
    if data[:4] != b"\x7fELF":
        raise ValueError(f"{path} is not an ELF file")
    if data[4] != 2 or data[5] != 1:
        raise ValueError(f"{path} is not a 64-bit little-endian ELF file")
    (machine,) = struct.unpack_from("<H", data, 0x12)
    (phoff,) = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    types = {struct.unpack_from("<I", data, phoff + i * phentsize)[0] for i in range(phnum)}
    return ElfInfo(
        architecture=MACHINES.get(machine, hex(machine)),
        static=PT_INTERP not in types and PT_DYNAMIC not in types,
    )
