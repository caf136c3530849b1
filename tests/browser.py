"""Open a local page in Debian's headless Chromium and report what it did.

`visit()` starts a fresh Chromium (a new empty profile each time, so no cache or storage leaks
between pages), loads a file:// page or one served on 127.0.0.1, and returns the console errors,
every request the page made, the requests refused because they would have left the machine, and
optionally the value of a JavaScript expression and a PNG screenshot.

The browser is Debian's `chromium` (scripts/system-deps.sh installs it), driven by Playwright's
Python package with `executable_path`: Playwright's own browser download is never used.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from project_checks import missing_tool

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")

# From the machine notes: without the background-networking flags Chromium tries Google's hosts
# at every start (refused here, and noise in the request log). Playwright adds --headless itself.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

# Schemes that never touch the network; everything else must name an allowed host.
LOCAL_SCHEMES = frozenset({"file", "data", "blob", "about", "chrome-error"})

NAVIGATION_TIMEOUT_MS = 30_000
# After `load`, wait for the network to go quiet so late requests (fonts, lazily loaded
# scripts such as Mermaid's) are seen; a page that never goes quiet still returns after this.
SETTLE_TIMEOUT_MS = 5_000


@dataclass
class Visit:
    console_errors: list[str]  # console.error messages and uncaught page errors
    requests: list[str]  # every URL the page requested (after the page's own URL)
    blocked: list[str]  # requests refused because they left the machine
    result: Any  # what `evaluate` returned (JSON-serialisable), else None


def chromium_path() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def _url_of(target: str | Path) -> str:
    if isinstance(target, Path):
        path = target.resolve()
        if not path.is_file():
            raise FileNotFoundError(f"no page to open at {path}")
        return path.as_uri()
    scheme = urlsplit(target).scheme
    if scheme not in {"file", "http"}:
        raise ValueError(
            f"visit() opens a file path, a file:// URL or an http://127.0.0.1 URL, not {target!r}"
        )
    return target


def _is_local(url: str, allow_hosts: tuple[str, ...]) -> bool:
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return True
    return (parts.hostname or "") in allow_hosts


def visit(
    target: str | Path,
    *,
    evaluate: str | None = None,
    screenshot: Path | None = None,
    width: int = 1280,
    height: int = 900,
    allow_hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
) -> Visit:
    """Load `target` in headless Chromium; requests to hosts outside `allow_hosts` are aborted.

    `evaluate` is a JavaScript expression or function source (`() => ...`), run after the page
    has loaded and the network has gone quiet; a returned promise is awaited.
    """
    url = _url_of(target)
    executable = chromium_path()
    if executable is None:
        missing_tool("chromium is not installed (bash scripts/system-deps.sh installs it)")
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import Route, sync_playwright
    except ImportError:
        missing_tool("playwright is not installed (pip install --group test)")

    console_errors: list[str] = []
    requests: list[str] = []
    blocked: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error":
            where = message.location.get("url") or ""
            console_errors.append(f"{message.text} (at {where})" if where else message.text)

    def on_route(route: Route) -> None:
        request_url = route.request.url
        if _is_local(request_url, allow_hosts):
            route.continue_()
        else:
            blocked.append(request_url)
            route.abort("blockedbyclient")

    def on_websocket(socket: Any) -> None:
        # The proxy below refuses it; it is listed here so the caller sees it was tried.
        requests.append(socket.url)
        if not _is_local(socket.url, allow_hosts):
            blocked.append(socket.url)

    # Requests the route cannot see (WebSockets, a service worker's fetches) still must not
    # leave the machine: every host but the allowed ones goes to a proxy that refuses.
    network_args = (
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=" + ";".join(allow_hosts),
    )

    with (
        tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile,
        sync_playwright() as pw,
    ):
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=executable,
            headless=True,
            args=[*CHROMIUM_ARGS, *network_args],
            viewport={"width": width, "height": height},
            service_workers="block",
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.on("console", on_console)
            page.on("pageerror", lambda error: console_errors.append(f"uncaught: {error}"))
            page.on("request", lambda request: requests.append(request.url))
            page.on("websocket", on_websocket)
            context.route("**/*", on_route)
            page.goto(url, wait_until="load", timeout=NAVIGATION_TIMEOUT_MS)
            # A page still busy after the settle time: report what was seen so far.
            with contextlib.suppress(PlaywrightError):
                page.wait_for_load_state("networkidle", timeout=SETTLE_TIMEOUT_MS)
            result = page.evaluate(evaluate) if evaluate is not None else None
            if screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot), type="png")
        finally:
            context.close()

    if requests and requests[0] == url:
        requests = requests[1:]
    return Visit(console_errors=console_errors, requests=requests, blocked=blocked, result=result)
