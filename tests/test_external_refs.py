"""tests/external_refs.py: loads from other hosts are found, links and prose are not."""

from __future__ import annotations

from pathlib import Path

import pytest
from external_refs import external_loads

pytestmark = pytest.mark.render

HTML = """<!doctype html>
<html><head>
<link rel="stylesheet" href="https://cdn.example.org/site.css">
<link rel="canonical" href="https://docs.example.org/page/">
<link rel="icon" href="/favicon.png">
<script src="https://static.example.net/app.js"></script>
<script src="assets/local.js"></script>
<style>@import url("https://fonts.googleapis.com/css?family=Roboto"); p { color: red }</style>
<script>
  const ns = "http://www.w3.org/2000/svg";
  // see https://example.com/docs/why.html for why
  fetch("https://api.example.com/data.json");
</script>
</head><body>
<a href="https://github.com/some/repo">a link is not a load</a>
<img srcset="img/a.png 1x, https://img.example.com/b.png 2x">
<div style="background: url(//tracker.example.com/p.gif)"></div>
<img src="http://127.0.0.1:8000/local.png">
</body></html>
"""


def test_html(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(HTML)
    urls = [hit.split(": ", 1)[1] for hit in external_loads(page)]
    assert urls == [
        "https://cdn.example.org/site.css",
        "https://static.example.net/app.js",
        "https://fonts.googleapis.com/css?family=Roboto",
        "https://api.example.com/data.json",
        "https://img.example.com/b.png",
        "//tracker.example.com/p.gif",
    ]
    assert external_loads(page)[0].startswith(f"{page}:3: ")


def test_css(tmp_path: Path) -> None:
    sheet = tmp_path / "site.css"
    sheet.write_text(
        "@import 'https://fonts.example.com/x.css';\n"
        "@font-face { src: url(fonts/local.woff2), url('https://fonts.gstatic.com/r.woff2') }\n"
        ".i { background: url(data:image/png;base64,AAAA) }\n"
    )
    assert [hit.split(": ", 1)[1] for hit in external_loads(sheet)] == [
        "https://fonts.example.com/x.css",
        "https://fonts.gstatic.com/r.woff2",
    ]


def test_js(tmp_path: Path) -> None:
    script = tmp_path / "bundle.js"
    script.write_text(
        'function as(){return typeof m=="undefined"?_t("https://libs.example.com/m.js"):0}\n'
        'throw new Error("bad grammar, see: https://chevrotain.io/docs/guide.html#X");\n'
        "document.createElementNS('http://www.w3.org/2000/svg', 'g');\n"
        "/* mirrored at https://unpkg.com/some-lib */\n"
        'import("//esm.example.com/mod.mjs"); el.src = "https://img.example.com/a.png";\n'
        'const css = "@import url(https://x.example.com/y.css)";\n'
        'const local = fetch("http://localhost:4318/v1/traces");\n'
    )
    assert [hit.split(": ", 1)[1] for hit in external_loads(script)] == [
        "https://libs.example.com/m.js",
        "https://unpkg.com/some-lib",
        "//esm.example.com/mod.mjs",
        "https://img.example.com/a.png",
        "https://x.example.com/y.css",
    ]


def test_other_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "x.map").write_text("{}")
    with pytest.raises(ValueError, match="reads"):
        external_loads(tmp_path / "x.map")
