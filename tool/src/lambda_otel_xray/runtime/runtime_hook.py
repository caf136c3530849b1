"""Know when the runtime has posted the invocation's response, so the export starts after it.

The Python runtime interface client (awslambdaric, in the Lambda base image's /var/runtime)
posts the handler's result with `post_invocation_result` (an error with
`post_invocation_error`), a native call that holds the GIL for the whole Runtime API request.
An export thread woken when the handler returns would compete for the GIL with the runtime's
last Python steps (marshalling the result) and could be scheduled in the middle of them, so the
processor holds the invocation's export until one of these calls has returned. Where there is
no awslambdaric (unit tests, another runtime), `install` returns False and the export starts
when the handler returns.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any

MODULE = "awslambdaric.lambda_runtime_client"
METHODS = ("post_invocation_result", "post_invocation_error")
_MARK = "_otel_lambda_release"

_logger = logging.getLogger(__name__)
_release: Callable[[], None] | None = None


def install(release: Callable[[], None]) -> bool:
    """Call ``release`` after every response or error the runtime posts; True when hooked.
    Installing again replaces the callback."""
    global _release
    module = sys.modules.get(MODULE)
    if module is None:
        return False
    # The base class holds the methods in awslambdaric 3 and 4; older ones define them on
    # LambdaRuntimeClient itself.
    cls = getattr(module, "BaseLambdaRuntimeClient", None) or getattr(
        module, "LambdaRuntimeClient", None
    )
    if cls is None or not all(callable(getattr(cls, name, None)) for name in METHODS):
        _logger.warning(
            "%s has no %s: spans are exported when the handler returns", MODULE, METHODS
        )
        return False
    _release = release
    for name in METHODS:
        original = getattr(cls, name)
        if not getattr(original, _MARK, False):
            setattr(cls, name, _after(original))
    return True


def _after(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def posted(*args: Any, **kwargs: Any) -> Any:
        try:
            return original(*args, **kwargs)
        finally:
            if _release is not None:
                _release()

    setattr(posted, _MARK, True)
    return posted
