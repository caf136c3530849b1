"""The layer's zip: reproducible, with the modes Lambda needs, unpacked with them."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest
from lambda_otel_xray.errors import ToolError
from lambda_otel_xray.layer.hashing import tree_key
from lambda_otel_xray.layer.package import publish, write_zip
from lambda_otel_xray.local.stage import unpack


def entries(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "src").mkdir()
    files = {"extensions/collector": b"\x7fELF...", "collector-config/config.yaml": b"a: 1\n"}
    out = {}
    for name, data in files.items():
        path = tmp_path / "src" / name.replace("/", "_")
        path.write_bytes(data)
        out[name] = path
    return out


def test_the_zip_is_byte_identical_for_the_same_inputs(tmp_path: Path) -> None:
    files = entries(tmp_path)
    write_zip(files, {"extensions/collector"}, tmp_path / "a.zip")
    write_zip(files, {"extensions/collector"}, tmp_path / "b.zip")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        modes = {i.filename: stat.S_IMODE(i.external_attr >> 16) for i in zf.infolist()}
    assert modes == {"collector-config/config.yaml": 0o644, "extensions/collector": 0o755}


def test_publish_writes_checksum_and_manifest_beside_the_zip(tmp_path: Path) -> None:
    write_zip(entries(tmp_path), set(), tmp_path / "staged.zip")
    out = tmp_path / "build"
    manifest = publish(tmp_path / "staged.zip", {"inputs_key": "k"}, out)
    assert (out / "layer.zip.sha256").read_text() == f"{manifest['layer']['sha256']}  layer.zip\n"
    assert manifest["layer"]["files"] == 2
    assert sorted(p.name for p in out.iterdir()) == [
        "layer-manifest.json",
        "layer.zip",
        "layer.zip.sha256",
    ]


def test_unpack_keeps_the_execute_bits(tmp_path: Path) -> None:
    write_zip(entries(tmp_path), {"extensions/collector"}, tmp_path / "layer.zip")
    assert unpack(tmp_path / "layer.zip", tmp_path / "opt") == 2
    assert stat.S_IMODE((tmp_path / "opt/extensions/collector").stat().st_mode) == 0o755


def test_unpack_refuses_an_entry_outside_the_destination(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as zf:
        zf.writestr("../escaped", b"x")
    with pytest.raises(ToolError, match="escapes"):
        unpack(tmp_path / "evil.zip", tmp_path / "opt")
    assert not (tmp_path / "escaped").exists()


def test_tree_key_follows_content_and_skips_what_is_excluded(tmp_path: Path) -> None:
    (tmp_path / "m" / "testdata").mkdir(parents=True)
    (tmp_path / "m" / "a.go").write_text("package a\n")
    before = tree_key(tmp_path / "m", exclude=("testdata",), skip_suffixes=("_test.go",))
    (tmp_path / "m" / "a_test.go").write_text("package a\n")
    (tmp_path / "m" / "testdata" / "x.json").write_text("{}")
    same = tree_key(tmp_path / "m", exclude=("testdata",), skip_suffixes=("_test.go",))
    assert same == before
    (tmp_path / "m" / "a.go").write_text("package a // changed\n")
    assert tree_key(tmp_path / "m", exclude=("testdata",), skip_suffixes=("_test.go",)) != before


def test_the_layer_ships_the_runtime_and_no_other_tool_code() -> None:
    """python/lambda_otel_xray/ in the layer: the function's side of tracing only (its
    imports are the standard library and the SDK), none of the build or local-run code."""
    import ast

    from lambda_otel_xray.layer.build import runtime_entries

    entries = runtime_entries()
    names = sorted(entries)
    assert "python/lambda_otel_xray/__init__.py" in names
    assert "python/lambda_otel_xray/runtime/tracing.py" in names
    assert all(
        n == "python/lambda_otel_xray/__init__.py"
        or n.startswith("python/lambda_otel_xray/runtime/")
        for n in names
    )
    for name, path in entries.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                top = node.module.split(".")[0]
            elif isinstance(node, ast.Import):
                top = node.names[0].name.split(".")[0]
            else:
                continue
            # What the layer holds besides the standard library: the SDK, and (for the image
            # build's version check only) the instrumentations' own packaging.
            assert top not in {"lambda_otel_xray", "yaml", "boto3", "botocore", "moto"}, (
                name,
                top,
            )
