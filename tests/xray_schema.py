"""Is this an X-Ray segment document X-Ray accepts? One function: ``document_errors(raw)``.

    from xray_schema import document_errors

    assert document_errors(raw) == []        # raw: the document as sent (str or bytes)

It returns readable problems, empty when the document is valid:

- AWS's JSON schema ``xray-segmentdocument-schema-v1.0.0.json`` (draft-04), validated with the
  ``jsonschema`` package. The schema is not committed: the first call fetches the crate
  ``xray-lite`` 0.0.9, which ships a copy, through cargo (``cargo fetch`` of a throwaway
  manifest, then the file is read out of the ``.crate`` archive in cargo's registry cache) and
  keeps it under the tool cache (``.cache/toolenvs/xray-schema-1.0.0/``, or
  ``$TOOLENV_CACHE_DIR``), guarded by a file lock so parallel workers fetch it once.
- One rule newer than the schema: annotation keys may contain dots. The schema (v1.0.0, from
  the X-Ray SDK era) allows ``^[a-zA-Z0-9_]{1,500}$``, and X-Ray then dropped dotted keys
  silently (aws/aws-xray-sdk-python#18, 2018; aws/aws-app-mesh-roadmap#256, 2020). In 2024 the
  X-Ray service was changed to accept ``.`` as well (contrib PR #31386/#31732, by AWS's X-Ray
  team: "x-ray service team decide to change their service to support both"), and contrib's
  exporter keeps dots by default since its feature gate ``exporter.xray.allowDot`` went beta
  (PR #32694), as do AWS's CloudWatch agent and contrib's Java translator. So the check allows
  ``.`` in annotation keys and nothing else beyond the schema's characters.
- The rules X-Ray documents but the schema leaves out: at most 64 KB; ``id``, ``parent_id``,
  exception and link ids of 16 hex digits; ``trace_id`` as ``1-<8 hex>-<24 hex>``;
  ``end_time`` (not before ``start_time``) or ``in_progress: true``, not both; ``type`` only
  ``"subsegment"``, and then with ``parent_id``; ``namespace`` only ``aws`` or ``remote``; an
  exception's ``cause`` naming another exception of the same document.

``SchemaUnavailable`` is raised when the schema cannot be fetched (no cargo, no registry);
tests turn it into ``missing_tool(...)``. ``schema()`` returns the parsed schema.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from toolenv import CACHE_DIR

__all__ = ["MAX_DOCUMENT_BYTES", "SchemaUnavailable", "document_errors", "schema"]

CRATE, CRATE_VERSION = "xray-lite", "0.0.9"
SCHEMA_FILE = "xray-segmentdocument-schema-v1.0.0.json"
SCHEMA_DIR = CACHE_DIR / "xray-schema-1.0.0"
MAX_DOCUMENT_BYTES = 64 * 1024

# The schema's annotation key pattern, and the one X-Ray accepts today (see above).
SCHEMA_ANNOTATION_KEY = "^[a-zA-Z0-9_]{1,500}$"
ANNOTATION_KEY = "^[a-zA-Z0-9_.]{1,500}$"

HEX16 = re.compile(r"^[0-9a-fA-F]{16}$")
TRACE_ID = re.compile(r"^1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}$")


class SchemaUnavailable(RuntimeError):
    """X-Ray's schema could not be fetched through cargo; the message says why."""


@cache
def schema() -> dict[str, Any]:
    """AWS's segment document schema v1.0.0, fetched once and cached outside the repository."""
    path = SCHEMA_DIR / SCHEMA_FILE
    if not path.is_file():
        SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
        with open(SCHEMA_DIR / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not path.is_file():
                _fetch(path)
    loaded = json.loads(path.read_text())
    if loaded.get("version") != "1.0.0" or "draft-04" not in loaded.get("$schema", ""):
        raise SchemaUnavailable(f"{path} is not X-Ray's draft-04 schema v1.0.0; delete it")
    return loaded


def _fetch(destination: Path) -> None:
    cargo = shutil.which("cargo")
    if cargo is None:
        raise SchemaUnavailable(
            "cargo is not installed: it fetches X-Ray's segment schema (crate "
            f"{CRATE} {CRATE_VERSION}); install Rust's cargo (rustup or Debian's `cargo`)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "Cargo.toml"
        manifest.write_text(
            '[package]\nname = "fetch-xray-schema"\nversion = "0.0.0"\nedition = "2021"\n'
            '[lib]\npath = "lib.rs"\n'
            f'[dependencies]\n{CRATE} = "={CRATE_VERSION}"\n'
        )
        (Path(tmp) / "lib.rs").write_text("")
        try:
            proc = subprocess.run(
                [cargo, "fetch", "--manifest-path", str(manifest)],
                capture_output=True,
                text=True,
                timeout=600,
            )
        except subprocess.TimeoutExpired:
            raise SchemaUnavailable("`cargo fetch` of xray-lite timed out after 600 s") from None
        if proc.returncode != 0:
            raise SchemaUnavailable(f"`cargo fetch` of {CRATE} failed:\n{proc.stderr[-2000:]}")
    cargo_home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    crates = sorted(cargo_home.glob(f"registry/cache/*/{CRATE}-{CRATE_VERSION}.crate"))
    if not crates:
        raise SchemaUnavailable(f"cargo fetched {CRATE} but no .crate is under {cargo_home}")
    member = f"{CRATE}-{CRATE_VERSION}/{SCHEMA_FILE}"
    with tarfile.open(crates[-1], "r:gz") as crate:
        try:
            data = crate.extractfile(member)
        except KeyError:
            data = None
        if data is None:
            raise SchemaUnavailable(f"{crates[-1]} has no {member}")
        content = data.read()
    staged = destination.with_suffix(".tmp")
    staged.write_bytes(content)
    staged.replace(destination)


def with_dotted_annotation_keys(original: dict[str, Any]) -> dict[str, Any]:
    """The schema with X-Ray's current annotation key rule (dots allowed) in place of its own,
    on segments and subsegments alike; a schema without that rule is not the one we know."""
    replaced = 0

    def walk(node: Any) -> Any:
        nonlocal replaced
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "patternProperties" and SCHEMA_ANNOTATION_KEY in value:
                    replaced += 1
                    value = {ANNOTATION_KEY if k == SCHEMA_ANNOTATION_KEY else k: v
                             for k, v in value.items()}  # fmt: skip
                out[key] = walk(value)
            return out
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    patched = walk(original)
    if replaced != 2:  # segment and subsegment definitions
        raise SchemaUnavailable(
            f"X-Ray's schema has {replaced} annotation key patterns {SCHEMA_ANNOTATION_KEY!r}, "
            "not 2: it changed; review xray_schema.py"
        )
    return patched


@cache
def _validator() -> Any:
    import jsonschema

    return jsonschema.Draft4Validator(with_dotted_annotation_keys(schema()))


def document_errors(raw: str | bytes) -> list[str]:
    """Every reason X-Ray would reject this segment document; [] if there is none."""
    data = raw.encode() if isinstance(raw, str) else raw
    errors: list[str] = []
    if len(data) > MAX_DOCUMENT_BYTES:
        errors.append(f"{len(data)} bytes, over X-Ray's {MAX_DOCUMENT_BYTES} per document")
    try:
        doc = json.loads(data)
    except ValueError as exc:
        return [*errors, f"not JSON: {exc}"]
    if not isinstance(doc, dict):
        return [*errors, f"not a JSON object: {type(doc).__name__}"]
    for error in sorted(_validator().iter_errors(doc), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(document)"
        errors.append(f"schema: {where}: {error.message[:300]}")
    errors += _unschemaed_rules(doc)
    return errors


def _unschemaed_rules(doc: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    for key in ("id", "parent_id"):
        if key in doc and not (isinstance(doc[key], str) and HEX16.match(doc[key])):
            errors.append(f"{key} {doc[key]!r} is not 16 hex digits")
    if "trace_id" in doc and not (
        isinstance(doc["trace_id"], str) and TRACE_ID.match(doc["trace_id"])
    ):
        errors.append(f"trace_id {doc['trace_id']!r} is not 1-<8 hex>-<24 hex>")
    in_progress = doc.get("in_progress") is True
    if "end_time" in doc and in_progress:
        errors.append("both end_time and in_progress: true")
    elif "end_time" not in doc and not in_progress:
        errors.append("neither end_time nor in_progress: true")
    start, end = doc.get("start_time"), doc.get("end_time")
    if isinstance(start, int | float) and isinstance(end, int | float) and end < start:
        errors.append(f"end_time {end} is before start_time {start}")
    if "type" in doc:
        if doc["type"] != "subsegment":
            errors.append(f"type {doc['type']!r}: only 'subsegment' exists")
        elif "parent_id" not in doc:
            errors.append("independent subsegment without parent_id")
    if "namespace" in doc and doc["namespace"] not in ("aws", "remote"):
        errors.append(f"namespace {doc['namespace']!r}: X-Ray knows 'aws' and 'remote'")
    errors += _cause_rules(doc.get("cause"))
    for i, link in enumerate(doc.get("links") or []):
        if not isinstance(link, dict):
            errors.append(f"links/{i} is not an object")
            continue
        if not (isinstance(link.get("id"), str) and HEX16.match(link["id"])):
            errors.append(f"links/{i}/id {link.get('id')!r} is not 16 hex digits")
        if not (isinstance(link.get("trace_id"), str) and TRACE_ID.match(link["trace_id"])):
            errors.append(f"links/{i}/trace_id {link.get('trace_id')!r} is not an X-Ray trace id")
    return errors


def _cause_rules(cause: Any) -> list[str]:
    if not isinstance(cause, dict):
        return []
    exceptions = [e for e in cause.get("exceptions") or [] if isinstance(e, dict)]
    ids = {e.get("id") for e in exceptions}
    errors: list[str] = []
    for i, exc in enumerate(exceptions):
        if not (isinstance(exc.get("id"), str) and HEX16.match(exc["id"])):
            errors.append(f"cause/exceptions/{i}/id {exc.get('id')!r} is not 16 hex digits")
        if "cause" in exc and exc["cause"] not in ids:
            errors.append(f"cause/exceptions/{i}/cause {exc['cause']!r} names no exception")
    return errors
