"""MkDocs hook (mkdocs.yml `hooks:`): the built site loads nothing from another host.

mkdocs-material loads two scripts from unpkg.com when a page needs them: Mermaid (on pages with
a diagram) and a ResizeObserver polyfill (only in browsers without ResizeObserver). This hook
serves pinned copies of both from the built site instead, and points Material's loader at them,
so diagrams render offline and in networks that block CDNs, still loaded only where needed.

The scripts are not committed (Mermaid's is 3.5 MB): the build fetches each pinned npm package
once with `npm pack`, checks the tarball against the registry's published sha512 and the file
taken from it against a sha256 recorded here, and keeps the file in .cache/docs-vendor/.

It also refuses a theme font: Material's default loads Roboto from Google Fonts.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

VENDOR_DIR = "assets/javascripts/vendor"


@dataclass(frozen=True)
class Vendored:
    package: str
    version: str
    integrity: str  # the npm registry's `dist.integrity` of the tarball
    member: str  # the file inside the tarball
    sha256: str  # of that file
    cdn_url: str  # the literal Material's bundle loads it from

    @property
    def filename(self) -> str:
        return f"{self.package}-{self.version}.js"


# Material 9.8's bundle asks for mermaid@11; this is the newest 11.x. Bump: set version, then
# integrity from `npm view mermaid@VERSION dist.integrity`, sha256 of the member from the tarball.
VENDORED = (
    Vendored(
        package="mermaid",
        version="11.17.2",
        integrity="sha512-V6K3C8EBdEsPFZXSKMJe6ppQOENxuHARr9GvHX4hh47lAbhMRD9qf4oEK7LoaRQxULMa80/qt5gHO73aCleBBg==",
        member="package/dist/mermaid.min.js",
        sha256="581ed7d74bd9048d0e3a91363927d72ef22942d7722546b27f7cc29e35390eb8",
        cdn_url="https://unpkg.com/mermaid@11/dist/mermaid.min.js",
    ),
    # unpkg serves the package's `main` for a bare name: dist/ResizeObserver.js (UMD, sets the
    # global Material expects).
    Vendored(
        package="resize-observer-polyfill",
        version="1.5.1",
        integrity="sha512-LwZrotdHOo12nQuZlHEmtuXdqGoOD0OhaxopaNFxWzInpEgaLWoVuAMbTzixuosCx2nEG58ngzW3vxdWoxIgdg==",
        member="package/dist/ResizeObserver.js",
        sha256="2290b5c60e0cdc62851fb687800237273ac53797595b1b133860c4f1386de378",
        cdn_url="https://unpkg.com/resize-observer-polyfill",
    ),
)


def on_config(config: Any) -> Any:
    if config["theme"]["font"] is not False:
        raise PluginError(
            "mkdocs.yml: theme.font loads fonts from Google Fonts; set `font: false` under "
            "`theme:` (the site uses the system fonts), or self-host them with extra_css"
        )
    return config


def on_post_build(config: Any) -> None:
    root = Path(config["config_file_path"]).resolve().parent
    site = Path(config["site_dir"])
    cache = root / ".cache" / "docs-vendor"
    bundles = sorted((site / "assets" / "javascripts").glob("bundle.*.min.js"))
    if len(bundles) != 1:
        raise PluginError(
            f"expected one Material bundle in {site}/assets/javascripts, found {len(bundles)}: "
            "is the theme still mkdocs-material?"
        )
    bundle = bundles[0]
    text = bundle.read_text(encoding="utf-8")
    for item in VENDORED:
        source = fetch(item, cache)
        target = site / VENDOR_DIR / item.filename
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        text = _point_loader_at(text, item, bundle)
    bundle.write_text(text, encoding="utf-8")


def _point_loader_at(text: str, item: Vendored, bundle: Path) -> str:
    literal = json.dumps(item.cdn_url)
    found = text.count(literal)
    if found != 1:
        raise PluginError(
            f"{bundle.name} names {literal} {found} times (expected once): mkdocs-material "
            f"changed how it loads {item.package}; update scripts/docs_offline.py (VENDORED)"
        )
    # __md_scope is the site root's URL (Material's base.html sets it on every page), so the
    # copy is found from pages at any depth and under any site_url prefix.
    local = f"new URL({json.dumps(VENDOR_DIR + '/' + item.filename)},__md_scope).href"
    return text.replace(literal, local)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def unpack(tarball: Path, item: Vendored) -> bytes:
    """The pinned file from an npm tarball, once both hashes match."""
    digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    if f"sha512-{digest}" != item.integrity:
        raise PluginError(
            f"{tarball.name} does not match the pinned integrity {item.integrity} "
            f"(got sha512-{digest}): refusing to serve it"
        )
    with tarfile.open(tarball, "r:gz") as archive:
        try:
            member = archive.extractfile(item.member)
        except KeyError:
            member = None
        if member is None:
            raise PluginError(f"{tarball.name} has no file {item.member}")
        data = member.read()
    if hashlib.sha256(data).hexdigest() != item.sha256:
        raise PluginError(f"{item.member} of {item.package}@{item.version} is not the pinned file")
    return data


def fetch(item: Vendored, cache: Path) -> Path:
    """The package's file, from the cache or fetched with `npm pack` and checked."""
    cached = cache / item.filename
    if cached.is_file() and _sha256(cached) == item.sha256:
        return cached
    npm = shutil.which("npm")
    if npm is None:
        raise PluginError(
            f"npm is needed (once) to fetch {item.package}@{item.version} for the docs site: "
            f"install Node.js and npm, or place the file (sha256 {item.sha256}) at {cached}"
        )
    with tempfile.TemporaryDirectory(prefix="docs-vendor-") as tmp:
        result = subprocess.run(
            [npm, "pack", f"{item.package}@{item.version}", "--json", "--pack-destination", tmp],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            raise PluginError(
                f"`npm pack {item.package}@{item.version}` failed (is the npm registry "
                f"reachable?):\n{result.stderr.strip()[-2000:]}"
            )
        data = unpack(Path(tmp) / json.loads(result.stdout)[0]["filename"], item)
    cache.mkdir(parents=True, exist_ok=True)
    # Per process: parallel builds (pytest -n 2) may fetch at once; each renames its own.
    partial = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
    partial.write_bytes(data)
    partial.replace(cached)
    return cached
