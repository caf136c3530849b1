"""The one error the command turns into a message and exit code 1: what went wrong, what to do."""

from __future__ import annotations


class ToolError(Exception):
    """Something the user can fix. ``problem`` says what went wrong, ``fix`` what to do;
    ``detail`` is the output of the command that failed (its last lines are shown)."""

    def __init__(self, problem: str, fix: str = "", detail: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix
        self.detail = detail.strip()

    def render(self) -> str:
        parts = [f"error: {self.problem}"]
        if self.detail:
            parts.append("\n".join("  | " + line for line in self.detail.splitlines()[-40:]))
        if self.fix:
            parts.append(f"fix: {self.fix}")
        return "\n".join(parts)
