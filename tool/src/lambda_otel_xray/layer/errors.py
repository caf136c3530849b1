"""Errors a person can act on: what went wrong, and what to do about it."""

from __future__ import annotations


class LayerBuildError(Exception):
    def __init__(self, problem: str, fix: str, detail: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix
        self.detail = detail.strip()

    def render(self) -> str:
        parts = [f"error: {self.problem}"]
        if self.detail:
            parts.append("\n".join("  | " + line for line in self.detail.splitlines()[-40:]))
        parts.append(f"fix: {self.fix}")
        return "\n".join(parts)
