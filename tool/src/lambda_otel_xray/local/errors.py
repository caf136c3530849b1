"""The one exception `python -m localrun` turns into a message and exit code 1."""

from __future__ import annotations


class LocalRunError(RuntimeError):
    """Something the user can fix; the message says what and how."""
