#!/usr/bin/env python3
"""Cut a template release: checks, the CHANGELOG section, the version everywhere, a commit and
a PEP 440 tag.

    python scripts/release.py 0.3.0            # or: make release VERSION=0.3.0
    python scripts/release.py 0.3.0 --dry-run  # checks only, writes nothing

Copier reads the template's versions from its git tags: `copier copy` renders the newest one,
`copier update` goes to it, and a migration gated on `version: X` runs once, when an update
crosses X. So a release is a tag named exactly like the version, on a commit whose files say
that version. Checks, before anything is written:

- VERSION is a PEP 440 release or pre-release (0.3.0, 0.3.0rc1), greater than every tag so far;
- the working tree is clean and HEAD is not already tagged;
- CHANGELOG.md has an `## [Unreleased]` section with content;
- no migration in copier.yml is gated on a version above VERSION (it would never run for a
  service updated to this release), and the newest one is covered by a CHANGELOG section.

Then it writes VERSION into the four places that carry it (pyproject.toml, tool/pyproject.toml,
the tool's `__version__`, `tool_version` in pins.yml), turns `## [Unreleased]` into
`## [VERSION] - DATE` under a new empty Unreleased heading, commits, and tags. Push the commit
and the tag yourself; never move a published tag (services record it in `_commit`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
CHANGELOG = Path("CHANGELOG.md")
# Every file that states the template's version, and the pattern of that statement.
VERSION_FILES: dict[Path, re.Pattern[str]] = {
    Path("pyproject.toml"): re.compile(r'^(version = ")([^"]+)(")$', re.MULTILINE),
    Path("tool/pyproject.toml"): re.compile(r'^(version = ")([^"]+)(")$', re.MULTILINE),
    Path("tool/src/lambda_otel_xray/__init__.py"): re.compile(
        r'^(__version__ = ")([^"]+)(")$', re.MULTILINE
    ),
    Path("pins.yml"): re.compile(r'^(tool_version:\n(?:  .*\n)*?  default: ")([^"]+)(")$', re.M),
}
UNRELEASED = re.compile(r"^## \[Unreleased\][^\n]*\n", re.MULTILINE)
SECTION = re.compile(r"^## \[(?P<version>[^\]]+)\]", re.MULTILINE)
MIGRATION_VERSION = re.compile(r'^\s*- version: "?(?P<version>[^"\s]+)"?', re.MULTILINE)


class ReleaseError(RuntimeError):
    """A check failed; nothing was written."""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


def parse_version(text: str) -> Version:
    try:
        version = Version(text)
    except InvalidVersion:
        raise ReleaseError(
            f"{text!r} is not a PEP 440 version: use e.g. 0.3.0 or 0.3.0rc1"
        ) from None
    if version.local or version.dev is not None or version.post is not None:
        raise ReleaseError(
            f"{text!r} is not a plain release or pre-release: use e.g. 0.3.0 or 0.3.0rc1"
        )
    if str(version) != text:  # Copier compares tags as PEP 440 normalizes them
        raise ReleaseError(f"{text!r} is not written the way PEP 440 writes it: use {version}")
    return version


def release_tags(repo: Path) -> list[Version]:
    found = []
    for tag in git(repo, "tag", "--list").split():
        try:
            found.append(Version(tag))
        except InvalidVersion:
            continue
    return sorted(found)


def versions_stated(repo: Path) -> dict[Path, str]:
    out = {}
    for rel, pattern in VERSION_FILES.items():
        match = pattern.search((repo / rel).read_text())
        if match is None:
            raise ReleaseError(f"{rel} does not state the template's version where expected")
        out[rel] = match[2]
    return out


def set_version(text: str, pattern: re.Pattern[str], version: str) -> str:
    new, count = pattern.subn(lambda m: f"{m[1]}{version}{m[3]}", text, count=1)
    assert count == 1
    return new


def cut_changelog(text: str, version: str, date: str) -> str:
    """`## [Unreleased]` (and its "To be released as" line) -> a new empty Unreleased section
    above `## [version] - date`."""
    match = UNRELEASED.search(text)
    if match is None:
        raise ReleaseError("CHANGELOG.md has no `## [Unreleased]` section: add what changed")
    rest = text[match.end() :]
    following = SECTION.search(rest)
    body = rest[: following.start()] if following else rest
    body = re.sub(r"^\s*To be released as .*\n", "", body, count=1)
    if not body.strip():
        raise ReleaseError("the Unreleased section of CHANGELOG.md is empty: say what changed")
    head = text[: match.start()]
    tail = rest[following.start() :] if following else ""
    return f"{head}## [Unreleased]\n\n## [{version}] - {date}\n\n{body.strip()}\n\n{tail}"


@dataclass
class Plan:
    version: Version
    files: dict[Path, str]


def plan(repo: Path, version_text: str, date: str) -> Plan:
    version = parse_version(version_text)
    tags = release_tags(repo)
    if tags and version <= tags[-1]:
        raise ReleaseError(f"{version} is not above the newest release, {tags[-1]}")
    if git(repo, "status", "--porcelain").strip():
        raise ReleaseError("the working tree is not clean: commit or stash first")
    at_head = git(repo, "tag", "--points-at", "HEAD").split()
    if at_head:
        raise ReleaseError(f"HEAD is already tagged ({', '.join(at_head)})")
    migrations = [Version(v) for v in MIGRATION_VERSION.findall((repo / "copier.yml").read_text())]
    later = [str(v) for v in migrations if v > version]
    if later:
        raise ReleaseError(
            f"copier.yml gates migrations on {', '.join(later)}, above {version}: they would "
            "not run for services updated to this release; release that version instead"
        )
    files = {rel: (repo / rel).read_text() for rel in VERSION_FILES}
    for rel, pattern in VERSION_FILES.items():
        files[rel] = set_version(files[rel], pattern, str(version))
    changelog = cut_changelog((repo / CHANGELOG).read_text(), str(version), date)
    sections = {Version(v) for v in SECTION.findall(changelog) if v != "Unreleased"}
    missing = [str(v) for v in migrations if v not in sections]
    if missing:
        raise ReleaseError(f"CHANGELOG.md has no section for the migration version(s) {missing}")
    files[CHANGELOG] = changelog
    return Plan(version, files)


def apply(repo: Path, cut: Plan) -> None:
    for rel, text in cut.files.items():
        (repo / rel).write_text(text)
    git(repo, "add", *(str(rel) for rel in cut.files))
    git(repo, "commit", "-q", "-m", f"Release {cut.version}")
    git(repo, "tag", str(cut.version))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("version")
    parser.add_argument("--date", default=dt.date.today().isoformat())
    parser.add_argument("--repo", type=Path, default=ROOT)
    parser.add_argument("--dry-run", action="store_true", help="check only; write nothing")
    args = parser.parse_args(argv)
    try:
        cut = plan(args.repo, args.version, args.date)
    except ReleaseError as error:
        print(f"release: {error}", file=sys.stderr)
        return 1
    if args.dry_run:
        print(
            f"release {cut.version}: every check passed; would write {sorted(map(str, cut.files))}"
        )
        return 0
    apply(args.repo, cut)
    print(f"released {cut.version}: commit and tag made; push both (`git push --follow-tags`)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
