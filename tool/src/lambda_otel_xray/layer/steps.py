"""Numbered steps with timings, so a slow or failing build says where it is."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Steps:
    def __init__(self, total: int, out: TextIO = sys.stderr) -> None:
        self.total = total
        self.number = 0
        self.out = out
        self.timings: dict[str, float] = {}

    @contextmanager
    def step(self, title: str) -> Iterator[list[str]]:
        """Run one step; append short notes to the yielded list to show after the timing."""
        self.number += 1
        notes: list[str] = []
        print(f"[{self.number}/{self.total}] {title} ...", file=self.out, flush=True)
        started = time.monotonic()
        try:
            yield notes
        except BaseException:
            elapsed = time.monotonic() - started
            print(f"      failed after {elapsed:.1f} s", file=self.out, flush=True)
            raise
        elapsed = time.monotonic() - started
        self.timings[title] = round(elapsed, 3)
        suffix = f" — {'; '.join(notes)}" if notes else ""
        print(f"      done in {elapsed:.1f} s{suffix}", file=self.out, flush=True)
