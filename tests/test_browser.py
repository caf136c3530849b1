"""tests/browser.py on a tiny page: console errors, blocked requests and screenshots are seen."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from browser import visit
from PIL import Image

pytestmark = pytest.mark.render

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>tiny</title>
<script src="https://cdn.example.com/lib.js"></script>
<link rel="stylesheet" href="http://93.184.215.14/style.css">
<link rel="stylesheet" href="local.css">
</head>
<body>
<div id="box">hello</div>
<script>
  console.log("not an error");
  console.error("boom: something failed");
  window.answer = {count: document.querySelectorAll("div").length, title: document.title};
</script>
</body></html>
"""
CSS = (
    "body { margin: 0; background: #fff; } #box { width: 400px; height: 300px; background: #c03; }"
)


@pytest.fixture
def page(tmp_path: Path) -> Path:
    (tmp_path / "local.css").write_text(CSS)
    path = tmp_path / "index.html"
    path.write_text(PAGE)
    return path


def test_file_page_errors_blocked_requests_and_screenshot(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    seen = visit(page, evaluate="window.answer", screenshot=shot, width=800, height=600)

    assert any("boom: something failed" in e for e in seen.console_errors), seen.console_errors
    assert not any("not an error" in e for e in seen.console_errors)
    assert seen.blocked == ["https://cdn.example.com/lib.js", "http://93.184.215.14/style.css"]
    assert (page.parent / "local.css").as_uri() in seen.requests
    assert set(seen.blocked) <= set(seen.requests)
    assert page.as_uri() not in seen.requests, "the page's own URL is not a request it made"
    assert seen.result == {"count": 1, "title": "tiny"}

    image = Image.open(shot).convert("RGB")
    assert image.size == (800, 600)
    red = sum(1 for r, g, b in image.get_flattened_data() if r > 180 and g < 60 and b < 80)
    assert red >= 0.9 * 400 * 300, f"the red box is not in the screenshot ({red} red pixels)"


def test_clean_page_has_nothing_to_report(tmp_path: Path) -> None:
    path = tmp_path / "clean.html"
    path.write_text("<!doctype html><title>ok</title><p>fine</p>")
    seen = visit(path)
    assert seen == type(seen)(console_errors=[], requests=[], blocked=[], result=None)


def test_uncaught_error_and_promise_result(tmp_path: Path) -> None:
    path = tmp_path / "throws.html"
    path.write_text("<!doctype html><script>throw new Error('kaput')</script>")
    seen = visit(path, evaluate="new Promise(resolve => setTimeout(() => resolve(42), 50))")
    assert any("kaput" in e for e in seen.console_errors), seen.console_errors
    assert seen.result == 42


def test_websocket_to_another_host_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "socket.html"
    path.write_text(
        "<!doctype html><script>const ws = new WebSocket('ws://93.184.215.14/socket');"
        "ws.onerror = () => { window.state = 'failed' };"
        "ws.onopen = () => { window.state = 'open' };</script>"
    )
    wait = (
        "new Promise(r => { "
        "const t = () => window.state ? r(window.state) : setTimeout(t, 9); t() })"
    )
    seen = visit(path, evaluate=wait)
    assert seen.result == "failed"
    assert seen.blocked == ["ws://93.184.215.14/socket"]


@pytest.fixture
def served(page: Path) -> Iterator[str]:
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(page.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


def test_page_served_on_loopback(served: str) -> None:
    seen = visit(served)
    assert served.replace("index.html", "local.css") in seen.requests
    assert seen.blocked == ["https://cdn.example.com/lib.js", "http://93.184.215.14/style.css"]


def test_allowed_hosts_can_be_narrowed(served: str) -> None:
    seen = visit(served.replace("127.0.0.1", "localhost"), allow_hosts=("localhost",))
    assert not any("127.0.0.1" in url for url in seen.blocked)
    assert len(seen.blocked) == 2


def test_not_a_local_target_is_refused() -> None:
    with pytest.raises(ValueError, match=r"http://127\.0\.0\.1"):
        visit("https://example.com/")
    with pytest.raises(FileNotFoundError):
        visit(Path("/nonexistent/page.html"))


def test_missing_chromium_is_a_failure_in_ci(page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import browser
    import project_checks

    monkeypatch.setattr(browser, "chromium_path", lambda: None)
    monkeypatch.setattr(project_checks, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="chromium is not installed"):
        visit(page)
    monkeypatch.setattr(project_checks, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match=r"system-deps\.sh"):
        visit(page)
