"""The documentation site: it builds with `mkdocs build --strict`, its generated pages match
their sources, every page is in the nav, and the built site works offline: it loads nothing
from another host, and every page opens in headless Chromium with no console error, no request
leaving the machine and its Mermaid diagrams drawn."""

from __future__ import annotations

import base64
import collections
import dataclasses
import functools
import hashlib
import http.server
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from browser import visit
from external_refs import external_loads
from PIL import Image
from project_checks import missing_tool

pytestmark = pytest.mark.render

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MKDOCS_YML = ROOT / "mkdocs.yml"
GENERATORS = ("scripts/gen_questions_doc.py", "scripts/gen_benchmarks_doc.py")


def _load_script(relative: str) -> ModuleType:
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


class _MkDocsLoader(yaml.SafeLoader):
    """Reads mkdocs.yml, whose markdown_extensions use `!!python/name:` tags."""


_MkDocsLoader.add_multi_constructor(
    "tag:yaml.org,2002:python/name:", lambda loader, suffix, node: suffix
)


def _nav_pages(entries: Any) -> list[str]:
    pages: list[str] = []
    if isinstance(entries, str):
        if not entries.startswith(("http://", "https://")):
            pages.append(entries)
    elif isinstance(entries, list):
        for entry in entries:
            pages += _nav_pages(entry)
    elif isinstance(entries, dict):
        for value in entries.values():
            pages += _nav_pages(value)
    return pages


def _built_page(page: str) -> str:
    """The site path of a nav page (use_directory_urls: architecture.md -> architecture/)."""
    return "" if page == "index.md" else Path(page).with_suffix("").as_posix() + "/"


NAV_PAGES = _nav_pages(yaml.load(MKDOCS_YML.read_text(), Loader=_MkDocsLoader)["nav"])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built once for this module's tests, as `make docs` builds it."""
    offline = _load_script("scripts/docs_offline.py")
    cache = ROOT / ".cache" / "docs-vendor"
    if shutil.which("npm") is None and not all(
        (cache / item.filename).is_file() for item in offline.VENDORED
    ):
        missing_tool("npm is needed once to fetch the docs site's pinned Mermaid (install npm)")
    site = tmp_path_factory.mktemp("docs") / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(MKDOCS_YML),
            "--site-dir",
            str(site),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}{result.stderr}"
    return site


def _npm_tarball(path: Path, files: dict[str, bytes]) -> str:
    """An npm-style tarball; returns its `dist.integrity`."""
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def test_vendored_scripts_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    offline = _load_script("scripts/docs_offline.py")
    script = b"window.lib = 1;\n"
    tarball = tmp_path / "lib-1.0.0.tgz"
    integrity = _npm_tarball(tarball, {"package/dist/lib.js": script})
    item = offline.Vendored(
        package="lib",
        version="1.0.0",
        integrity=integrity,
        member="package/dist/lib.js",
        sha256=hashlib.sha256(script).hexdigest(),
        cdn_url="https://unpkg.com/lib",
    )
    assert offline.unpack(tarball, item) == script
    for wrong, message in (
        ({"integrity": "sha512-" + "A" * 86 + "=="}, "pinned integrity"),
        ({"sha256": "0" * 64}, "not the pinned file"),
        ({"member": "package/dist/other.js"}, "has no file"),
    ):
        with pytest.raises(offline.PluginError, match=message):
            offline.unpack(tarball, dataclasses.replace(item, **wrong))
    # A Material release that loads it otherwise stops the build instead of leaving the CDN.
    with pytest.raises(offline.PluginError, match="changed how it loads lib"):
        offline._point_loader_at('_t("https://cdn.example.com/lib.js")', item, Path("b.js"))
    loader = offline._point_loader_at('_t("https://unpkg.com/lib")', item, Path("b.js"))
    assert loader == '_t(new URL("assets/javascripts/vendor/lib-1.0.0.js",__md_scope).href)'
    # A cached copy that is not the pinned file is never served: it is fetched again.
    (tmp_path / item.filename).write_bytes(b"tampered")
    monkeypatch.setattr(offline.shutil, "which", lambda name: None)
    with pytest.raises(offline.PluginError, match="npm is needed"):
        offline.fetch(item, tmp_path)
    (tmp_path / item.filename).write_bytes(script)
    assert offline.fetch(item, tmp_path) == tmp_path / item.filename


def test_theme_font_is_refused() -> None:
    offline = _load_script("scripts/docs_offline.py")
    with pytest.raises(offline.PluginError, match="Google Fonts"):
        offline.on_config({"theme": {"font": {"text": "Roboto"}}})
    assert offline.on_config({"theme": {"font": False}}) == {"theme": {"font": False}}


def test_site_builds_strict(site: Path) -> None:
    for page in NAV_PAGES:
        built = site / _built_page(page) / "index.html"
        assert built.is_file(), f"{page} was not built ({built})"


def test_site_loads_nothing_from_another_host(site: Path) -> None:
    files = sorted(p for p in site.rglob("*") if p.suffix in {".html", ".css", ".js", ".svg"})
    assert len(files) > len(NAV_PAGES), f"too few files scanned in {site}: {files}"
    loads = [hit for path in files for hit in external_loads(path)]
    assert not loads, "the built site loads from other hosts (it must work offline):\n" + (
        "\n".join(loads)
    )
    vendor = site / "assets" / "javascripts" / "vendor"
    served = sorted(p.name for p in vendor.iterdir())
    assert any(name.startswith("mermaid-") for name in served), served


@pytest.fixture(scope="module")
def served_site(site: Path) -> Iterator[str]:
    """The built site on a loopback HTTP server, as a reader's static host would serve it."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(site))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _diagram_sources(page: str) -> list[str]:
    """The first line of each Mermaid diagram on a page (`flowchart TB`, `sequenceDiagram`)."""
    text = (DOCS / page).read_text(encoding="utf-8")
    return [m.group(1).strip() for m in re.finditer(r"^```mermaid\n(.+)$", text, re.MULTILINE)]


# Waits for Material to swap each diagram's source (a <pre>) for the rendered diagram (a
# <div class="mermaid"> whose SVG sits in a closed shadow root, so only its box is visible),
# then brings the first diagram into view for the screenshot.
DIAGRAMS_JS = """async ([expected, sources]) => {
  const deadline = Date.now() + 20000;
  while (document.querySelectorAll("div.mermaid").length < expected && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 50));
  }
  const rendered = [...document.querySelectorAll("div.mermaid")];
  if (rendered.length) rendered[0].scrollIntoView({block: "center"});
  await new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  const text = document.body.innerText;
  return {
    rendered: rendered.map(d => {
      const r = d.getBoundingClientRect();
      return {text: d.textContent, x: r.x, y: r.y, width: r.width, height: r.height};
    }),
    sourcesShown: sources.filter(s => text.includes(s)),
    preLeft: document.querySelectorAll("pre.mermaid").length,
    images: [...document.images].map(i => ({src: i.src, width: i.naturalWidth})),
  };
}"""


@pytest.mark.parametrize("page", [*NAV_PAGES, "404.html"])
def test_page_in_chromium(served_site: str, page: str, tmp_path: Path) -> None:
    sources = _diagram_sources(page) if page.endswith(".md") else []
    url = served_site + (page if page == "404.html" else _built_page(page))
    shot = tmp_path / "page.png"
    evaluate = f"({DIAGRAMS_JS})({json.dumps([len(sources), sources])})"
    seen = visit(url, evaluate=evaluate, screenshot=shot)

    assert not seen.console_errors, f"{url}: console errors {seen.console_errors}"
    assert not seen.blocked, f"{url} requested other hosts: {seen.blocked}"
    assert seen.requests, f"{url}: no request seen (styles, scripts): is the page empty?"
    result = seen.result
    assert len(result["rendered"]) == len(sources), f"{url}: diagrams rendered {result}"
    assert not result["sourcesShown"] and not result["preLeft"], (
        f"{url}: a diagram's source text is shown instead of the diagram: {result}"
    )
    broken = [image["src"] for image in result["images"] if not image["width"]]
    assert not broken, f"{url}: images that did not load: {broken}"
    if page.endswith(".md"):
        linked = re.findall(r"!\[[^\]]*\]\(([^)\s]+\.svg)\)", (DOCS / page).read_text())
        shown = [image["src"] for image in result["images"] if image["src"].endswith(".svg")]
        assert len(shown) == len(linked), f"{url}: charts linked {linked}, shown {shown}"
    if not sources:
        return
    assert any("/vendor/mermaid-" in request for request in seen.requests), seen.requests
    for box in result["rendered"]:
        assert box["text"] == "" and box["width"] > 100 and box["height"] > 50, (
            f"{url}: a rendered diagram is empty or tiny: {box}"
        )
    first = result["rendered"][0]
    with Image.open(shot) as image:
        left, top = max(0, int(first["x"])), max(0, int(first["y"]))
        right = min(image.width, int(first["x"] + first["width"]))
        bottom = min(image.height, int(first["y"] + first["height"]))
        region = image.convert("RGB").crop((left, top, right, bottom))
        colours = collections.Counter(region.get_flattened_data())
    _, background = colours.most_common(1)[0]
    drawn = 1 - background / colours.total()
    assert drawn > 0.01, f"{url}: the first diagram's box is blank in the screenshot ({drawn:.2%})"


def test_benchmarks_page_has_charts() -> None:
    """The bar: docs/benchmarks.md shows charts, one per benchmark with results of a known
    shape, committed beside it."""
    text = (DOCS / "benchmarks.md").read_text(encoding="utf-8")
    linked = re.findall(r"!\[[^\]]+\]\(benchmarks/([\w.-]+\.svg)\)", text)
    committed = sorted(p.name for p in (DOCS / "benchmarks").glob("*.svg"))
    assert len(linked) >= 5 and sorted(linked) == committed, (linked, committed)
    for name in committed:
        svg = (DOCS / "benchmarks" / name).read_text(encoding="utf-8")
        # Text drawn as paths (no font needed to view it), no date: reproducible bytes.
        assert "<text" not in svg and "<dc:date>" not in svg, name


def test_a_stale_chart_fails_the_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gen = _load_script("scripts/gen_benchmarks_doc.py")
    results = tmp_path / "results"
    results.mkdir()
    shutil.copy(ROOT / "bench" / "results" / "layer_build.json", results)
    monkeypatch.setattr(gen, "RESULTS", results)
    page = tmp_path / "docs" / "benchmarks.md"
    chart = tmp_path / "docs" / "benchmarks" / "layer-build.svg"

    def check() -> int:
        return gen.main(["--check", "--output", str(page)])

    assert check() == 1, "a missing page and chart must fail the check"
    assert gen.main(["--output", str(page)]) == 0 and chart.is_file()
    assert "](benchmarks/layer-build.svg)" in page.read_text()
    assert check() == 0
    original = chart.read_text()
    chart.write_text(original.replace("#5c6bc0", "#5c6bc1"))
    assert check() == 1, "an edited chart must fail the check"
    chart.unlink()
    assert check() == 1, "a deleted chart must fail the check"
    gen.main(["--output", str(page)])
    assert chart.read_text() == original, "the chart is not reproducible"
    stray = chart.with_name("old-chart.svg")
    stray.write_text("<svg/>")
    assert check() == 1, "a chart no longer generated must fail the check"
    gen.main(["--output", str(page)])
    assert not stray.exists() and check() == 0


@pytest.mark.parametrize("script", GENERATORS)
def test_generated_pages_are_up_to_date(script: str) -> None:
    result = subprocess.run(
        [sys.executable, script, "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (
        f"{script} --check failed (regenerate with `.venv/bin/python {script}`):\n"
        f"{result.stdout}{result.stderr}"
    )


def test_every_page_is_in_the_nav() -> None:
    config = yaml.load(MKDOCS_YML.read_text(), Loader=_MkDocsLoader)
    nav = _nav_pages(config["nav"])
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    assert sorted(set(nav)) == sorted(nav), f"pages listed twice in the nav: {nav}"
    assert not set(pages) - set(nav), f"pages missing from the nav: {set(pages) - set(nav)}"
    assert not set(nav) - set(pages), f"nav entries without a page: {set(nav) - set(pages)}"


def test_questions_page_covers_every_question_and_pin() -> None:
    gen = _load_script("scripts/gen_questions_doc.py")
    config, included = gen.load_copier_config(ROOT / "copier.yml")
    assert any(p.name == "pins.yml" for p in included), "copier.yml no longer includes pins.yml"
    text = gen.generate()
    names = [k for k, v in config.items() if not k.startswith("_") and isinstance(v, dict)]
    assert any(n.startswith("pin_") for n in names), "the pins from pins.yml were not merged"
    for name in names:
        assert f"`{name}`" in text, f"{name} is missing from the questions page"
    for name, spec in config.items():
        if isinstance(spec, dict) and spec.get("validator"):
            rules, _ = gen.parse_validator(str(spec["validator"]), name)
            assert rules, f"no rule read from the validator of {name}"


def test_benchmarks_page_says_what_is_not_measured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gen = _load_script("scripts/gen_benchmarks_doc.py")
    monkeypatch.setattr(gen, "RESULTS", tmp_path)
    empty = gen.generate()
    assert empty.count("**Not measured yet.**") == len(gen.EXPECTED)
    (tmp_path / "cold_start.json").write_text(
        '{"command": "python bench/cold_start.py", "machine": "test", "goal_ms": 900,'
        ' "results": {"with_layer": {"median_ms": 850.0, "runs": 3}}}'
    )
    (tmp_path / "extra.json").write_text('{"results": {"a": 1}}')
    text = gen.generate()
    assert text.count("**Not measured yet.**") == len(gen.EXPECTED) - 1
    assert "python bench/cold_start.py" in text
    assert "| with_layer | 850 | 3 | yes |" in text
    assert "no `command` key" in text  # extra.json is shown, flagged as not reproducible
