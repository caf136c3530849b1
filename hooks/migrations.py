"""`copier update` migrations: importable, unit-tested functions behind a thin command line.

copier.yml's `_migrations` run `python hooks/migrations.py <migration> <project>` from the
checkout of the template version being updated to, in the real project only (never in the
temporary copies Copier renders to compute the update). Two kinds:

- ``rebuild-layer`` (unversioned, after every update): rebuild build/layer.zip once with
  `make layer` (the tool the update pinned, installed into the service's venv), which is
  content-addressed, so it is a no-op when no
  input changed. Without Go it prints how to build later; ``SKIP_LAYER_BUILD=1`` skips it (CI
  jobs and bots that only propose the update). A failed build never fails the update: the files
  are already updated, and the message says how to rebuild.
- version-gated edits of files a service owns, run once when an update crosses the version:
  ``otlp-http-exporter`` (0.2.0) renames the collector exporter type ``otlphttp`` (a deprecated
  alias since collector v0.165.0) to ``otlp_http`` in collector/config.yaml.
- ``trigger-answer`` (unversioned, before every update): a service rendered before the
  ``trigger`` question existed has no answer for it, and ``--defaults`` would give it the new
  default (a REST API). Copier reloads the answers file after the *before* migrations, so
  recording ``trigger: none`` there keeps the service as it was; ``-d trigger=...`` on the
  command line still wins over a recorded answer. A no-op once the answer exists.

Only the standard library: this runs under the interpreter that runs Copier.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

try:  # imported as hooks.migrations (tests) or run as a script (Copier)
    from .layer_build import Outcome, run_layer_build
except ImportError:  # pragma: no cover - exercised through Copier
    from layer_build import Outcome, run_layer_build  # type: ignore[no-redef]

SKIP_ENV = "SKIP_LAYER_BUILD"
CONFIG = Path("collector") / "config.yaml"
OLD_TYPE = "otlphttp"
NEW_TYPE = "otlp_http"


# --------------------------------------------------------------------------- rebuild-layer
def skip_requested(env: Mapping[str, str]) -> bool:
    return env.get(SKIP_ENV, "").strip().lower() not in ("", "0", "false", "no")


def rebuild_layer(project: Path, env: Mapping[str, str] | None = None) -> Outcome:
    """Rebuild the project's layer once (the build itself decides whether anything changed)."""
    env = os.environ if env is None else env
    if skip_requested(env):
        return Outcome(
            False, f"layer rebuild skipped ({SKIP_ENV} is set); rebuild it with `make layer`"
        )
    return run_layer_build(project)


# --------------------------------------------------------------------------- otlp-http-exporter
@dataclass
class RenameResult:
    text: str
    changes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


_KEY = re.compile(
    r"""^(?P<indent>[ ]*)(?P<q>["']?)(?P<key>[^\s"'#:\[\]{},-][^"'#:]*?)(?P=q)[ ]*:(?=[ ]|$)"""
)
_ITEM = re.compile(r"""^(?P<indent>[ ]*)-[ ]+(?P<q>["']?)(?P<id>[^\s"'#,\[\]]+)(?P=q)[ ]*$""")


def _split_comment(line: str) -> tuple[str, str]:
    """(content, comment) of one YAML line: a `#` starts a comment outside quotes, at the start
    of the line or after whitespace."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i], line[i:]
    return line, ""


def _new_id(component_id: str) -> str | None:
    """`otlphttp` -> `otlp_http`, `otlphttp/x` -> `otlp_http/x`; None for any other id."""
    kind, sep, name = component_id.partition("/")
    if kind != OLD_TYPE:
        return None
    return NEW_TYPE + sep + name


_FLOW_ID = re.compile(
    r"""(?P<pre>(?:^|[\[,])[ ]*)(?P<q>["']?)(?P<id>[^\s"',\[\]]+)(?P=q)(?=[ ]*(?:[,\]]|$))"""
)


def _rename_flow(content: str, renames: Mapping[str, str]) -> tuple[str, list[str]]:
    done: list[str] = []

    def sub(match: re.Match[str]) -> str:
        old = match["id"]
        if old not in renames:
            return match[0]
        done.append(old)
        return f"{match['pre']}{match['q']}{renames[old]}{match['q']}"

    return _FLOW_ID.sub(sub, content), done


def _walk(lines: list[str]):
    """Yield (index, path, key, indent) for every block-mapping key line, where path is the
    list of enclosing keys; and (index, None, None, indent) for other content lines."""
    stack: list[tuple[int, str]] = []
    for index, raw in enumerate(lines):
        content, _ = _split_comment(raw.rstrip("\r\n"))
        if not content.strip():
            continue
        indent = len(content) - len(content.lstrip(" "))
        match = _KEY.match(content)
        while stack and stack[-1][0] >= indent and (match or not content.lstrip().startswith("-")):
            stack.pop()
        if match:
            key = match["key"].strip()
            yield index, [k for _, k in stack], key, indent
            stack.append((indent, key))
        else:
            yield index, None, None, indent


def _is_pipeline_exporters(path: list[str] | None, key: str | None) -> bool:
    return (
        key == "exporters"
        and path is not None
        and len(path) == 3
        and path[:2]
        == [
            "service",
            "pipelines",
        ]
    )


def exporter_ids(text: str) -> list[str]:
    """Ids declared under the top-level `exporters:` mapping."""
    lines = text.splitlines(keepends=True)
    return [key for _, path, key, _ in _walk(lines) if key is not None and path == ["exporters"]]


def rename_otlphttp(text: str) -> RenameResult:
    """Rename exporter ids `otlphttp[/name]` to `otlp_http[/name]` in a collector config, as text:
    keys under the top-level `exporters:` and references in `service.pipelines.*.exporters`
    (flow `[a, b]` or block `- a` lists). Comments, quoting, order and line endings are kept.
    An id whose new name is already declared is left alone and reported (renaming it would
    make a duplicate key)."""
    lines = text.splitlines(keepends=True)
    declared = exporter_ids(text)
    renames: dict[str, str] = {}
    result = RenameResult(text)
    for old in declared:
        new = _new_id(old)
        if new is None:
            continue
        if new in declared:
            result.skipped.append(
                f"exporter `{old}` kept: `{new}` is declared too; merge the two by hand"
            )
            continue
        renames[old] = new
    if not renames:
        return result

    out = list(lines)
    seq_indent: int | None = None  # inside a block sequence of pipeline exporters
    flow_open = False  # inside a multi-line flow sequence of pipeline exporters
    for index, path, key, indent in _walk(lines):
        raw = lines[index]
        body = raw.rstrip("\r\n")
        ending = raw[len(body) :]
        content, comment = _split_comment(body)
        if flow_open:
            new_content, done = _rename_flow(content, renames)
            out[index] = new_content + comment + ending
            result.changes += [f"line {index + 1}: pipeline reference {d}" for d in done]
            flow_open = "]" not in content
            continue
        if seq_indent is not None:
            item = _ITEM.match(content)
            if item and indent >= seq_indent:
                old = item["id"]
                if old in renames:
                    start = item.start("id")
                    new_content = content[:start] + renames[old] + content[item.end("id") :]
                    out[index] = new_content + comment + ending
                    result.changes.append(f"line {index + 1}: pipeline reference {old}")
                continue
            seq_indent = None
        if key is None:
            continue
        if path == ["exporters"] and key in renames:
            match = _KEY.match(content)
            assert match is not None
            start, end = match.span("key")
            out[index] = content[:start] + renames[key] + content[end:] + comment + ending
            result.changes.append(f"line {index + 1}: exporter {key}")
        elif _is_pipeline_exporters(path, key):
            match = _KEY.match(content)
            assert match is not None
            head, value = content[: match.end()], content[match.end() :]
            if value.strip().startswith("["):
                new_value, done = _rename_flow(value, renames)
                out[index] = head + new_value + comment + ending
                result.changes += [f"line {index + 1}: pipeline reference {d}" for d in done]
                flow_open = "]" not in value
            elif not value.strip():
                seq_indent = indent
    result.text = "".join(out)
    return result


def migrate_otlp_http(project: Path) -> str:
    """The 0.2.0 migration on a project: rewrite collector/config.yaml only if something changes."""
    config = project / CONFIG
    if not config.is_file():
        return f"{CONFIG}: not found, nothing to migrate"
    text = config.read_bytes().decode("utf-8")
    result = rename_otlphttp(text)
    notes = [f"  warning: {s}" for s in result.skipped]
    if not result.changed:
        summary = f"{CONFIG}: no `{OLD_TYPE}` exporter to rename (none, or already migrated)"
        return "\n".join([summary, *notes])
    config.write_bytes(result.text.encode("utf-8"))
    summary = (
        f"{CONFIG}: renamed the deprecated exporter type `{OLD_TYPE}` to `{NEW_TYPE}` "
        f"({len(result.changes)} place(s)); review with `git diff {CONFIG}`"
    )
    return "\n".join([summary, *(f"  {c}" for c in result.changes), *notes])


# --------------------------------------------------------------------------- trigger-answer
ANSWERS_FILE = ".copier-answers.yml"
TRIGGER_BEFORE_THE_QUESTION = "none"
_TRIGGER_KEY = re.compile(r"^trigger[ ]*:", re.MULTILINE)


def record_trigger_answer(text: str) -> str | None:
    """The answers file with `trigger: none` appended, or None when it already has an answer."""
    if _TRIGGER_KEY.search(text):
        return None
    if text and not text.endswith("\n"):
        text += "\n"
    return f"{text}trigger: {TRIGGER_BEFORE_THE_QUESTION}\n"


def migrate_trigger_answer(project: Path, answers_file: str = ANSWERS_FILE, given: str = "") -> str:
    """Before an update: give a service that predates the `trigger` question the answer that
    describes it (no event source). ``given`` is a `-d trigger=...` passed to this update."""
    path = project / answers_file
    if not path.is_file():
        return f"{answers_file}: not found, nothing to record"
    new = record_trigger_answer(path.read_bytes().decode("utf-8"))
    if new is None:
        return f"{answers_file}: `trigger` is already answered"
    path.write_bytes(new.encode("utf-8"))
    if given:
        return (
            f"{answers_file}: this service predates the `trigger` question; recorded "
            f"`trigger: {TRIGGER_BEFORE_THE_QUESTION}` as what it had, and this update "
            f"switches it to `{given}` (-d trigger={given})"
        )
    return (
        f"{answers_file}: this service predates the `trigger` question; recorded "
        f"`trigger: {TRIGGER_BEFORE_THE_QUESTION}` so it keeps no event source. To add one: "
        "copier update --trust --defaults -d trigger=rest-api (or function-url, sqs)"
    )


# --------------------------------------------------------------------------- command line
def _rebuild(project: Path) -> str:
    return rebuild_layer(project).message


MIGRATIONS: dict[str, Callable[..., str]] = {
    "rebuild-layer": _rebuild,
    "otlp-http-exporter": migrate_otlp_http,
    "trigger-answer": migrate_trigger_answer,
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in MIGRATIONS:
        print(
            f"usage: migrations.py {{{','.join(MIGRATIONS)}}} [PROJECT [ARG...]]", file=sys.stderr
        )
        return 2
    # Copier runs migrations inside the project; an explicit path is for manual use and tests.
    project = Path(argv[1] if len(argv) > 1 else ".").resolve()
    print(f"[migration {argv[0]}] {MIGRATIONS[argv[0]](project, *argv[2:])}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
