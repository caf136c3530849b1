"""Find what a built page would load from another host: scripts, styles, fonts, images, frames.

`external_loads(path)` reads an HTML, CSS or JavaScript file and lists the absolute URLs (with
`file:line`) that a browser would fetch when the file is used. Links a reader may follow
(`<a href>`, `<link rel=canonical>`) are not loads and are not listed.

JavaScript cannot be read for its loads in general, so two rules stand in: a URL on a known CDN
or font host is listed wherever it appears (a string, a comment: a page that names one usually
loads from it), and any absolute URL is listed where it sits in a loading position (`src=`,
`import(`, `fetch(`, `url(`, a URL literal passed straight to a call, ...). A URL in prose (an
error message naming a docs page, a licence header, an XML namespace) is not a load.
The browser test is the other half: it sees what a page really requests.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

# Hosts that serve libraries, fonts or trackers to pages: named anywhere, they are listed.
CDN_HOSTS = frozenset(
    {
        "unpkg.com",
        "cdn.jsdelivr.net",
        "fastly.jsdelivr.net",
        "cdnjs.cloudflare.com",
        "ajax.googleapis.com",
        "fonts.googleapis.com",
        "fonts.gstatic.com",
        "esm.sh",
        "cdn.skypack.dev",
        "ga.jspm.io",
        "code.jquery.com",
        "stackpath.bootstrapcdn.com",
        "maxcdn.bootstrapcdn.com",
        "use.fontawesome.com",
        "kit.fontawesome.com",
        "polyfill.io",
        "cdn.polyfill.io",
        "www.googletagmanager.com",
        "www.google-analytics.com",
        "plausible.io",
    }
)

# XML namespace names: identifiers in createElementNS() and xmlns=, never fetched.
NAMESPACES = frozenset(
    {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xhtml",
        "http://www.w3.org/1999/xlink",
        "http://www.w3.org/1998/Math/MathML",
        "http://www.w3.org/XML/1998/namespace",
        "http://www.w3.org/2000/xmlns/",
    }
)

_URL = r"(?:(?:https?|wss?|ftp):)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?::\d+)?[^\s\"'`)<>]*"
ANY_URL = re.compile(_URL)
CSS_LOAD = re.compile(r"(?:@import\s+(?:url\(\s*)?|url\(\s*)[\"']?(" + _URL + ")", re.IGNORECASE)
# A URL literal in a position where JavaScript fetches it.
JS_LOAD = re.compile(
    r"(?:"
    r"\b(?:src|href|srcset|action|poster|data|url)\s*[=:]\s*"  # el.src = "...", {url: "..."}
    r"|\b(?:import|importScripts|fetch|Worker|SharedWorker|EventSource|WebSocket|sendBeacon"
    r"|open|setAttribute\(\s*[\"'](?:src|href)[\"']\s*,)\s*\(?\s*"
    r"|\bimport\s+(?:[\w*{}\s,]+\s+from\s+)?"  # import x from "..."
    r"|\bfrom\s+"
    r"|[\w$\]]\(\s*"  # a call whose first argument is the URL: loadScript("...")
    r")"
    r"[\"'`](" + _URL + r")",
)
# <a>-like references a browser does not fetch by itself.
_NOT_LOADED_RELS = frozenset(
    {"canonical", "alternate", "author", "license", "help", "next", "prev", "bookmark", "me"}
)
_LOADING_ATTRIBUTES = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "input": ("src",),
    "image": ("href", "xlink:href"),
    "use": ("href", "xlink:href"),
    "base": ("href",),
}


def is_external(url: str) -> bool:
    if url.strip() in NAMESPACES:
        return False
    parts = urlsplit(url.strip())
    if parts.scheme in ("", "http", "https", "ws", "wss", "ftp") and parts.netloc:
        return (parts.hostname or "") not in ("127.0.0.1", "localhost")
    return False


def _host(url: str) -> str:
    return (urlsplit(url if "://" in url else "http:" + url).hostname or "").lower()


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def css_loads(text: str, line_offset: int = 0) -> list[tuple[int, str]]:
    return [
        (_line(text, m.start()) + line_offset, m.group(1))
        for m in CSS_LOAD.finditer(text)
        if is_external(m.group(1))
    ]


def js_loads(text: str, line_offset: int = 0) -> list[tuple[int, str]]:
    found: dict[int, tuple[int, str]] = {}
    for m in JS_LOAD.finditer(text):
        if is_external(m.group(1)):
            found[m.start(1)] = (_line(text, m.start(1)) + line_offset, m.group(1))
    for m in ANY_URL.finditer(text):
        if _host(m.group(0)) in CDN_HOSTS:
            found[m.start()] = (_line(text, m.start()) + line_offset, m.group(0))
    for line, url in css_loads(text, line_offset):  # CSS carried in JavaScript strings
        found.setdefault(-line, (line, url))
    return sorted(set(found.values()))


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.loads: list[tuple[int, str]] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        values = {name: value or "" for name, value in attrs}
        urls: list[str] = []
        if tag == "link":
            rels = set(values.get("rel", "").lower().split())
            if not rels or not rels <= _NOT_LOADED_RELS:
                urls.append(values.get("href", ""))
        for name in _LOADING_ATTRIBUTES.get(tag, ()):
            value = values.get(name, "")
            # srcset: "url 1x, url 2x"
            urls += (
                [part.split()[0] for part in value.split(",") if part.split()]
                if (name == "srcset")
                else [value]
            )
        self.loads += [(line, url) for url in urls if url and is_external(url)]
        if "style" in values:
            self.loads += css_loads(values["style"], line - 1)
        if tag in ("script", "style"):
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        line = self.getpos()[0] - 1
        if self._in == "style":
            self.loads += css_loads(data, line)
        elif self._in == "script":
            self.loads += js_loads(data, line)


def external_loads(path: Path) -> list[str]:
    """`file:line: url` for each load from another host in an .html, .css or .js file."""
    text = path.read_text(encoding="utf-8", errors="replace")
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm", ".svg"):
        parser = _PageParser()
        parser.feed(text)
        parser.close()
        loads = parser.loads
    elif suffix == ".css":
        loads = css_loads(text)
    elif suffix in (".js", ".mjs"):
        loads = js_loads(text)
    else:
        raise ValueError(f"external_loads reads .html, .svg, .css and .js files, not {path}")
    return [f"{path}:{line}: {url}" for line, url in sorted(set(loads))]
