"""`copier update` across template versions, in real git repositories under tmp dirs.

Template versions are made the way a maintainer makes them: a committed snapshot of this working
tree (template_repo.snapshot), then edits, a commit and a PEP 440 tag per release. Projects are
rendered from a tag, `git init`-ed and committed, edited by "the team", committed again, and
updated with the Copier CLI exactly as the service README says (`copier update --trust
--defaults --vcs-ref <tag>`), so what is asserted is what a user sees on the terminal.

Only the first test builds layers for real (copy-time hook + the after-update rebuild
migration); the others set SKIP_LAYER_BUILD=1, which the rebuild migration honours.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import copier
import pytest
import yaml
from project_checks import missing_tool, run_project_tests
from template_repo import GIT_ENV, ROOT, git, snapshot, working_tree_files

sys.path.insert(0, str(ROOT / "scripts"))

import bump
import release

pytestmark = pytest.mark.update

CONFIG = Path("collector/config.yaml")
CONFIG_TEMPLATE = Path("template/collector/config.yaml.jinja")
DIRTY_MESSAGE = (
    "Destination repository is dirty; cannot continue. "
    "Please commit or stash your local changes and retry."
)
# Non-default answers; x86_64 keeps the real builds to one compile each on this machine.
ANSWERS = {
    "project_name": "Billing Events",
    "project_slug": "billing-events",
    "description": "Turns billing events into invoices",
    "iac": "terraform",
    "trace_exporter": "xray-otlp",
    "architecture": "x86_64",
    "python_version": "3.12",
    "memory_size": 1024,
    # At most 29: the default trigger, rest-api, cannot wait longer (API Gateway's limit).
    "timeout": 20,
    "aws_region": "eu-west-1",
}


# --------------------------------------------------------------------------- template versions
class Template:
    """A template repository whose releases the test makes: edit, then `release(tag)`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def edit(self, rel: str | Path, change: Callable[[str], str]) -> None:
        path = self.path / rel
        new = change(path.read_text())
        assert new != path.read_text(), f"edit of {rel} changed nothing"
        path.write_text(new)

    def restore(self, *rels: str | Path) -> None:
        """Put files back as they are in this working tree (the template under test)."""
        for rel in rels:
            shutil.copy2(ROOT / rel, self.path / rel)

    def exporter_type(self, new: bool) -> None:
        """The OTLP/HTTP exporter type the template writes: `otlp_http` (new) or the deprecated
        alias `otlphttp` (old), whichever the working tree has today."""
        old_name, new_name = ("otlphttp", "otlp_http") if new else ("otlp_http", "otlphttp")
        text = (self.path / CONFIG_TEMPLATE).read_text()
        if old_name in text:
            (self.path / CONFIG_TEMPLATE).write_text(text.replace(old_name, new_name))

    def add_logging_migration(self, version: str) -> None:
        """A test-only migration gated on ``version`` that appends to migrations.log, inserted
        after the template's own versioned migrations and before the layer rebuild (which must
        stay last)."""
        script = self.path / "hooks" / "test_log_migration.py"
        script.write_text(
            "import os, sys\n"
            "line = f\"{sys.argv[1]} {os.environ['VERSION_PEP440_FROM']}->"
            "{os.environ['VERSION_PEP440_TO']}\"\n"
            "with open('migrations.log', 'a') as log:\n"
            "    log.write(line + '\\n')\n"
            "print(f'[test migration {line}]', flush=True)\n"
        )
        lines = (self.path / "copier.yml").read_text().splitlines(keepends=True)
        [rebuild] = [i for i, line in enumerate(lines) if '"rebuild-layer"' in line]
        at = rebuild
        while lines[at - 1].lstrip().startswith("#"):
            at -= 1
        entry = (
            f'  - version: "{version}"\n'
            '    command: ["{{ _copier_python }}", "{{ _copier_conf.src_path }}'
            '/hooks/test_log_migration.py", "{{ _version_current }}"]\n'
            "    when: \"{{ _stage == 'after' }}\"\n"
        )
        lines.insert(at, entry)
        (self.path / "copier.yml").write_text("".join(lines))

    def release(self, tag: str) -> str:
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "--allow-empty", "-m", f"release {tag}")
        git(self.path, "tag", tag)
        return tag

    def cut(self, version: str, note: str) -> str:
        """A release as a maintainer cuts one: ``note`` under Unreleased in CHANGELOG.md, the
        work committed, then the release command (scripts/release.py: checks, the CHANGELOG
        section, the version in every file that states it, a commit and the tag)."""
        changelog = self.path / "CHANGELOG.md"
        text = changelog.read_text()
        changelog.write_text(text.replace("## [Unreleased]\n", f"## [Unreleased]\n\n- {note}\n", 1))
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "-m", f"prepare {version}")
        assert release.main(["--repo", str(self.path), version, "--date", "2026-12-03"]) == 0
        return version


@pytest.fixture
def template(tmp_path: Path) -> Template:
    """0.1.0 = this working tree, writing the deprecated `otlphttp` exporter type."""
    repo = Template(snapshot(tmp_path / "template"))
    repo.exporter_type(new=False)
    return repo


# --------------------------------------------------------------------------- projects
def render_project(
    template: Template, dest: Path, tag: str, *, skip_tasks: bool = True, **answers
) -> Path:
    copier.run_copy(
        str(template.path),
        str(dest),
        data={**ANSWERS, **answers},
        vcs_ref=tag,
        defaults=True,
        unsafe=True,
        quiet=True,
        skip_tasks=skip_tasks,
    )
    git(dest, "init", "-q", "-b", "main")
    commit_all(dest, "generated from the template")
    return dest


def commit_all(project: Path, message: str) -> None:
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", message)


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not in {path.name} exactly once"
    path.write_text(text.replace(old, new))


def update(
    project: Path, tag: str | None, *extra: str, build: bool = False
) -> subprocess.CompletedProcess[str]:
    """`copier update --trust --defaults [--vcs-ref TAG]` as a user runs it."""
    env = {**os.environ, **GIT_ENV}
    env.pop("SKIP_LAYER_BUILD", None)
    if not build:
        env["SKIP_LAYER_BUILD"] = "1"
    args = ["update", "--trust", "--defaults", *(["--vcs-ref", tag] if tag else []), *extra]
    return subprocess.run(
        [sys.executable, "-m", "copier", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )


def answers(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def status(project: Path) -> list[str]:
    return git(project, "status", "--porcelain").splitlines()


def tree(project: Path) -> dict[str, bytes]:
    """Every file of the project (tracked, untracked and ignored), outside .git."""
    return {
        str(p.relative_to(project)): p.read_bytes()
        for p in sorted(project.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(project).parts
    }


def pipeline_exporters(config: dict) -> list[str]:
    return [e for p in config["service"]["pipelines"].values() for e in p["exporters"]]


# --------------------------------------------------------------------------- pre-commit checks
def check_merge_conflict(project: Path, *files: str) -> subprocess.CompletedProcess[str]:
    """The `check-merge-conflict --assume-in-merge` hook of the project's pre-commit config."""
    exe = Path(sys.executable).parent / "check-merge-conflict"
    return subprocess.run(
        [str(exe), "--assume-in-merge", *files], cwd=project, capture_output=True, text=True
    )


def local_hooks_config(project: Path, dest: Path) -> Path:
    """The project's pre-commit config reduced to its `repo: local` hooks (the others are
    fetched from GitHub, which this machine cannot reach)."""
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    config["repos"] = [r for r in config["repos"] if r["repo"] == "local"]
    assert any(h["id"] == "no-rej-files" for r in config["repos"] for h in r["hooks"])
    dest.write_text(yaml.safe_dump(config))
    return dest


def pre_commit(project: Path, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "pre-commit"
    env = {**os.environ, "PRE_COMMIT_HOME": str(config.parent / "pre-commit-home")}
    return subprocess.run(
        [str(exe), "run", "-c", str(config), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )


# =========================================================================== 1. a collector bump
def test_collector_bump_reaches_an_edited_service(template: Template, tmp_path: Path) -> None:
    """0.1.0 (older collector-contrib, `otlphttp`) -> 0.2.0 (this tree's pins, `otlp_http`):
    the team's edits survive, the pins move, the layer is rebuilt exactly once, the project's
    own tests pass."""
    if shutil.which("go") is None:
        missing_tool("needs Go: the copy-time hook and the update migration build the layer")
    new_pins = bump.read_pins((ROOT / "pins.yml").read_text())
    new_contrib = new_pins[bump.CONTRIB]
    old_contrib = "v0.165.0" if new_contrib != "v0.165.0" else "v0.165.1"

    # 0.1.0: the maintainer's bump script, run backwards, regenerates go.mod.jinja and go.sum.
    plan = bump.plan_collector(template.path, old_contrib)
    bump.write(template.path, plan)
    old = template.release("0.1.0")

    project = render_project(template, tmp_path / "billing-events", old, skip_tasks=False)
    manifest_path = project / "build" / "layer-manifest.json"
    assert manifest_path.is_file(), "the copy-time hook did not build the layer"
    before = json.loads(manifest_path.read_text())
    assert f"sigv4authextension {old_contrib}\n" in (project / "collector" / "go.mod").read_text()

    # The team's edits, committed.
    app_addition = '\n\ndef healthcheck() -> dict[str, str]:\n    return {"status": "ok"}\n'
    (project / "app.py").write_text((project / "app.py").read_text() + app_addition)
    replace_once(
        project / CONFIG,
        "    send_batch_size: 50\n",
        "    # billing: bigger batches for the nightly import\n    send_batch_size: 64\n",
    )
    docker_addition = 'LABEL org.opencontainers.image.vendor="billing team"\n'
    (project / "Dockerfile").write_text((project / "Dockerfile").read_text() + docker_addition)
    tf_addition = '\nlocals {\n  owning_team = "billing"\n}\n'
    main_tf = project / "terraform" / "main.tf"
    main_tf.write_text(main_tf.read_text() + tf_addition)
    commit_all(project, "team edits")

    # 0.2.0: this tree's collector pins (go.mod.jinja, go.sum) and the `otlp_http` type.
    template.restore(
        "pins.yml",
        "template/collector/go.mod.jinja",
        "template/collector/go.sum",
        "tool/collector/go.mod",
        "tool/collector/go.sum",
    )
    template.exporter_type(new=True)
    new = template.release("0.2.0")

    result = update(project, new, build=True)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out

    # Every edit kept.
    assert (project / "app.py").read_text().endswith(app_addition)
    config_text = (project / CONFIG).read_text()
    assert "    # billing: bigger batches for the nightly import\n    send_batch_size: 64\n" in (
        config_text
    )
    assert (project / "Dockerfile").read_text().endswith(docker_addition)
    assert main_tf.read_text().endswith(tf_addition)
    # Pins bumped everywhere the project carries them.
    assert (
        f"go.opentelemetry.io/collector/otelcol {new_pins[bump.CORE]}"
        in (project / "collector" / "go.mod").read_text()
    )
    go_mod = (project / "collector" / "go.mod").read_text()
    assert f"sigv4authextension {new_contrib}\n" in go_mod
    assert f"sigv4authextension {new_contrib} h1:" in (project / "collector" / "go.sum").read_text()
    # The deprecated exporter type is gone; the config is the template's plus the team's edit.
    config = yaml.safe_load(config_text)
    assert "otlp_http" in config["exporters"] and "otlphttp" not in config["exporters"]
    assert pipeline_exporters(config) == ["otlp_http"]
    assert config["processors"]["batch"]["send_batch_size"] == 64
    # `_commit` records the new release; nothing left in conflict.
    assert answers(project)["_commit"] == new
    assert not [line for line in status(project) if line[:2] in ("UU", "AA", "DU", "UD")]
    changed = [line[3:] for line in status(project) if (project / line[3:]).is_file()]
    assert check_merge_conflict(project, *changed).returncode == 0

    # The layer was rebuilt exactly once: one build started (by the after-update migration,
    # not by tasks in Copier's three renders), one build finished, and it is the new one.
    assert out.count("Building the OpenTelemetry layer") == 1, out
    assert len(re.findall(r"^built .*layer\.zip in ", out, re.MULTILINE)) == 1, out
    assert out.count("[migration rebuild-layer] layer built") == 1, out
    assert out.count("[migration otlp-http-exporter]") == 1, out
    after = json.loads(manifest_path.read_text())
    assert after["inputs_key"] != before["inputs_key"]
    # Recompiled: the service's go.mod/go.sum moved to the new pins (the shipped module requires
    # no contrib module, so a contrib-only bump leaves it as it was).
    assert after["collector"]["sources_sha256"] != before["collector"]["sources_sha256"]

    # The project's own tests still pass.
    tests = run_project_tests(project)
    assert tests.returncode == 0, tests.stdout + tests.stderr

    # A second update with nothing new is a no-op, and the rebuild finds the layer up to date.
    commit_all(project, "template 0.2.0")
    again = update(project, new, build=True)
    assert again.returncode == 0, again.stdout + again.stderr
    assert status(project) == []
    assert "layer is up to date" in again.stderr
    assert "Compile the collector" not in again.stderr


# =========================================================================== 2. conflicts
def conflicting_release(template: Template) -> tuple[str, str]:
    old = template.release("0.1.0")
    template.edit(CONFIG_TEMPLATE, lambda t: t.replace("timeout: 200ms", "timeout: 250ms", 1))
    return old, template.release("0.1.1")


def edit_the_same_line(project: Path) -> None:
    replace_once(project / CONFIG, "    timeout: 200ms\n", "    timeout: 1s\n")
    commit_all(project, "longer batch timeout")


def test_same_line_edit_leaves_conflict_markers_that_pre_commit_rejects(
    template: Template, tmp_path: Path
) -> None:
    old, new = conflicting_release(template)
    project = render_project(template, tmp_path / "svc", old)
    edit_the_same_line(project)

    result = update(project, new)
    # Copier reports success although the file is in conflict (field notes).
    assert result.returncode == 0, result.stderr
    text = (project / CONFIG).read_text()
    for marker in ("<<<<<<< before updating", "=======", ">>>>>>> after updating"):
        assert marker in text.splitlines()
    assert "    timeout: 1s" in text and "    timeout: 250ms" in text
    assert f"UU {CONFIG}" in status(project)
    assert answers(project)["_commit"] == new

    # The project's pre-commit hook catches it ...
    hook = check_merge_conflict(project, str(CONFIG))
    assert hook.returncode == 1
    assert f"{CONFIG}:" in hook.stdout and "Merge conflict string" in hook.stdout
    # ... without false alarms on the files that merged cleanly.
    others = [
        line[3:]
        for line in status(project)
        if line[3:] != str(CONFIG) and (project / line[3:]).is_file()
    ]
    assert check_merge_conflict(project, *others).returncode == 0
    # The commit-time run (`pre-commit run`, what `git commit` triggers) refuses while the
    # index still records the conflict; once the file is `git add`-ed unresolved, the hook
    # above is what stops the commit.
    config = local_hooks_config(project, tmp_path / "local-hooks.yaml")
    run = pre_commit(project, config)
    assert run.returncode == 1
    assert "Unmerged files" in run.stdout + run.stderr


@pytest.fixture
def rejected(template: Template, tmp_path: Path) -> Path:
    """A project updated with `--conflict rej`: the hunk Copier could not apply is left in a
    `.rej` file next to the untouched-by-that-hunk file."""
    old, new = conflicting_release(template)
    project = render_project(template, tmp_path / "svc", old)
    edit_the_same_line(project)
    result = update(project, new, "--conflict", "rej")
    assert result.returncode == 0, result.stderr
    # The file has the new template's line; the team's edit waits in the .rej file.
    assert "    timeout: 250ms\n" in (project / CONFIG).read_text()
    assert "+    timeout: 1s" in (project / f"{CONFIG}.rej").read_text()
    return project


def test_rej_file_fails_the_no_rej_hook(rejected: Path, tmp_path: Path) -> None:
    config = local_hooks_config(rejected, tmp_path / "local-hooks.yaml")
    run = pre_commit(rejected, config, "no-rej-files", "--files", f"{CONFIG}.rej")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "merge it by hand from the .rej file" in run.stdout


def test_rej_file_fails_pre_commit_all_files(rejected: Path, tmp_path: Path) -> None:
    config = local_hooks_config(rejected, tmp_path / "local-hooks.yaml")
    run = pre_commit(rejected, config, "--all-files")
    assert run.returncode == 1, run.stdout + run.stderr


# =========================================================================== 3. gated migrations
def test_update_across_two_versions_runs_each_gated_migration_once_in_order(
    template: Template, tmp_path: Path
) -> None:
    v1 = template.release("0.1.0")
    project = render_project(template, tmp_path / "svc", v1, iac="sam")
    # The team adds a second OTLP/HTTP backend (their own lines, away from the template's).
    replace_once(
        project / CONFIG,
        "\nextensions:\n",
        '  "otlphttp/archive":  # team: copy of every span for the archive (otlphttp)\n'
        "    endpoint: http://archive.internal.example:4318\n"
        "\nextensions:\n",
    )
    replace_once(
        project / CONFIG,
        "  pipelines:\n",
        "  pipelines:\n    traces/archive:\n      receivers: [otlp]\n"
        "      exporters:\n        - otlphttp/archive\n",
    )
    commit_all(project, "archive backend")

    # Two releases cut with the release command, each with a migration gated on it.
    template.exporter_type(new=True)
    template.add_logging_migration("0.3.0")
    template.cut("0.3.0", "a migration that logs 0.3.0")
    template.add_logging_migration("0.4.0")
    v4 = template.cut("0.4.0", "a migration that logs 0.4.0")
    assert git(template.path, "tag", "--points-at", "HEAD").split() == ["0.4.0"]
    assert "## [0.4.0] - 2026-12-03" in (template.path / "CHANGELOG.md").read_text()

    result = update(project, v4)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out

    # Each gated migration ran once, in version order, each seeing the whole update's range.
    log = (project / "migrations.log").read_text().splitlines()
    assert log == ["0.3.0 0.1.0->0.4.0", "0.4.0 0.1.0->0.4.0"]
    order = [
        out.index("[migration otlp-http-exporter]"),
        out.index("[test migration 0.3.0"),
        out.index("[test migration 0.4.0"),
        out.index("[migration rebuild-layer]"),
    ]
    assert order == sorted(order), out
    assert out.count("[migration otlp-http-exporter]") == 1
    assert out.count("[migration rebuild-layer]") == 1
    assert "layer rebuild skipped (SKIP_LAYER_BUILD is set)" in out

    # The real 0.2.0 migration renamed the team's own ids; the template's came with the merge.
    text = (project / CONFIG).read_text()
    config = yaml.safe_load(text)
    assert sorted(config["exporters"]) == ["otlp_http", "otlp_http/archive"]
    assert sorted(pipeline_exporters(config)) == ["otlp_http", "otlp_http/archive"]
    assert "# team: copy of every span for the archive (otlphttp)" in text
    assert f"UU {CONFIG}" not in status(project)
    assert answers(project)["_commit"] == v4

    # A later release does not run them again.
    commit_all(project, "template 0.4.0")
    template.edit("template/README.md.jinja", lambda t: t + "\n<!-- 0.5.0 -->\n")
    v5 = template.cut("0.5.0", "a README line")
    result = update(project, v5)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert (project / "migrations.log").read_text().splitlines() == log
    assert "[migration otlp-http-exporter]" not in out
    assert "[test migration" not in out
    assert out.count("[migration rebuild-layer]") == 1
    assert answers(project)["_commit"] == v5


# =========================================================================== 4. dirty tree
def test_update_from_a_dirty_tree_fails_clearly_and_changes_nothing(
    template: Template, tmp_path: Path
) -> None:
    old = template.release("0.1.0")
    project = render_project(template, tmp_path / "svc", old)
    template.exporter_type(new=True)
    new = template.release("0.2.0")
    (project / "app.py").write_text((project / "app.py").read_text() + "# work in progress\n")
    (project / "notes.txt").write_text("untracked\n")
    files, porcelain = tree(project), status(project)

    result = update(project, new)
    assert result.returncode == 1
    assert DIRTY_MESSAGE in result.stderr
    assert "Traceback" not in result.stderr
    assert "[migration" not in result.stdout + result.stderr
    assert tree(project) == files
    assert status(project) == porcelain
    assert answers(project)["_commit"] == old


# =========================================================================== 5. nothing new
@pytest.mark.parametrize("vcs_ref", ["0.1.0", None], ids=["same-tag", "latest-tag"])
def test_update_without_template_changes_is_a_no_op(
    template: Template, tmp_path: Path, vcs_ref: str | None
) -> None:
    old = template.release("0.1.0")
    project = render_project(template, tmp_path / "svc", old)
    files = tree(project)

    result = update(project, vcs_ref)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert status(project) == []
    assert tree(project) == files
    assert answers(project)["_commit"] == old
    assert "Keeping template version 0.1.0" in out
    assert out.count("[migration rebuild-layer]") == 1


# =========================================================================== 6. the PR workflow
# template-update.yml has two jobs: `update` (read-only token, no credentials in its checkout)
# runs `copier update --trust` and hands a patch on as an artifact; `pull-request` (the only one
# that may write) applies it in a fresh checkout, pushes the branch and opens the pull request.
# Both run here as GitHub Actions would run them (shell: python, GITHUB_* files, a fresh clone
# per job, the artifact directory handed over), minus the pull request API call at the end.
WORKFLOW = ".github/workflows/template-update.yml"


def _run_step(
    checkout: Path, runner: Path, job: str, step_id: str, event: dict, output: Path
) -> tuple[int, str]:
    workflow = yaml.safe_load((checkout / WORKFLOW).read_text())
    [step] = [s for s in workflow["jobs"][job]["steps"] if s.get("id") == step_id]
    assert step["shell"] == "python"
    (runner / "event.json").write_text(json.dumps(event))
    output.write_text("")
    # The update job's copier needs a git identity for its temporary commits; the pull-request
    # job commits as the bot it names itself (an identity in the environment would win).
    identity = GIT_ENV if job == "update" else {}
    env = {
        **{k: v for k, v in os.environ.items() if k not in GIT_ENV},
        **identity,
        **workflow["jobs"][job].get("env", {}),
        # A token for the push step; the local origin ignores the extraheader it becomes.
        **{k: "test-token" for k in step.get("env", {})},
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "GITHUB_EVENT_PATH": str(runner / "event.json"),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_SERVER_URL": "https://github.com",
        "RUNNER_TEMP": str(runner),
    }
    result = subprocess.run(
        [sys.executable, "-c", step["run"]],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return result.returncode, result.stdout + result.stderr


def run_workflow(origin: Path, tmp_path: Path, event: dict) -> tuple[int, str, Path]:
    """Both jobs, each in its own clone of ``origin``; the second only when the first proposed.
    Returns the exit code, the output of both and the runner directory (RUNNER_TEMP)."""
    runner = Path(tempfile.mkdtemp(prefix="runner-", dir=tmp_path))
    update_checkout = runner / "update-checkout"
    git(tmp_path, "clone", "-q", str(origin), str(update_checkout))
    code, out = _run_step(
        update_checkout, runner, "update", "update", event, runner / "update-output"
    )
    if code != 0 or (runner / "update-output").read_text() != "proposed=true\n":
        return code, out, runner
    # The pull-request job's checkout: the same commit, nothing of the update job's tree.
    pr_checkout = runner / "pull-request-checkout"
    git(tmp_path, "clone", "-q", str(origin), str(pr_checkout))
    code, pr_out = _run_step(
        pr_checkout, runner, "pull-request", "push", event, runner / "push-output"
    )
    return code, out + pr_out, runner


def origin_of(project: Path, tmp_path: Path) -> Path:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(project, "remote", "add", "origin", str(origin))
    git(project, "push", "-q", "origin", "main")
    return origin


def test_template_update_workflow_pushes_a_branch_with_the_update(
    template: Template, tmp_path: Path
) -> None:
    old = template.release("0.1.0")
    project = render_project(template, tmp_path / "svc", old)
    origin = origin_of(project, tmp_path)

    # Scheduled run, nothing new: no patch, no branch, no pull request.
    code, out, runner = run_workflow(origin, tmp_path, {"schedule": "23 5 * * 1"})
    assert code == 0, out
    assert "up to date" in out
    assert (runner / "update-output").read_text() == ""
    assert not (runner / "template-update").exists()

    template.exporter_type(new=True)
    new = template.release("0.2.0")
    template.release("0.3.0rc1")  # pre-releases are not proposed
    code, out, runner = run_workflow(origin, tmp_path, {"schedule": "23 5 * * 1"})
    assert code == 0, out
    assert (runner / "update-output").read_text() == "proposed=true\n"
    assert (runner / "push-output").read_text() == "pushed=true\n"
    artifact = runner / "template-update"
    assert sorted(p.name for p in artifact.iterdir()) == ["pull-request.json", "update.patch"]
    pr = json.loads((artifact / "pull-request.json").read_text())
    assert pr["branch"] == f"template-update/{new}" and pr["draft"] is False
    assert pr["title"] == f"Update from the Copier template to {new}"
    assert f"/blob/{new}/CHANGELOG.md" in pr["body"]
    assert pr["base"] == git(origin, "rev-parse", "main").strip()
    # The pushed branch holds exactly the update, committed on main by the bot.
    pushed = git(origin, "show", f"{pr['branch']}:.copier-answers.yml")
    assert yaml.safe_load(pushed)["_commit"] == new
    assert "otlp_http:" in git(origin, "show", f"{pr['branch']}:{CONFIG}")
    assert git(origin, "rev-parse", f"{pr['branch']}~1").strip() == pr["base"]
    author = git(origin, "log", "-1", "--format=%an", pr["branch"]).strip()
    assert author == "github-actions[bot]"
    assert git(origin, "diff", "--stat", "main", pr["branch"]).strip()

    # The next scheduled run does not propose the same release twice.
    code, out, runner = run_workflow(origin, tmp_path, {"schedule": "23 5 * * 1"})
    assert code == 0, out
    assert "already proposed" in out
    assert (runner / "push-output").read_text() == ""


def test_template_update_workflow_proposes_conflicts_as_a_draft(
    template: Template, tmp_path: Path
) -> None:
    old, new = conflicting_release(template)
    project = render_project(template, tmp_path / "svc", old)
    edit_the_same_line(project)
    origin = origin_of(project, tmp_path)

    code, out, runner = run_workflow(origin, tmp_path, {"inputs": {"ref": new}})
    assert code == 0, out
    pr = json.loads((runner / "template-update" / "pull-request.json").read_text())
    assert pr["draft"] is True
    assert f"- `{CONFIG}`: conflict markers" in pr["body"]
    # The markers are committed on the branch, where the pre-commit hook and review see them.
    pushed = git(origin, "show", f"{pr['branch']}:{CONFIG}")
    assert "<<<<<<< before updating" in pushed.splitlines()


def test_template_update_pull_request_job_refuses_what_the_update_job_may_not_write(
    template: Template, tmp_path: Path
) -> None:
    """The update job ran the template's code, which may have written anything into the
    artifact: the writing job accepts only a template-update/<tag> branch on the checked-out
    commit, and git refuses a patch into .git/."""
    old = template.release("0.1.0")
    project = render_project(template, tmp_path / "svc", old)
    origin = origin_of(project, tmp_path)
    checkout = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", str(origin), str(checkout))
    runner = tmp_path / "runner"
    (runner / "template-update").mkdir(parents=True)
    base = git(origin, "rev-parse", "main").strip()
    good = dict(
        branch="template-update/0.2.0", base=base, draft=False, title="t", body="b", message="m"
    )
    hook = (
        "diff --git a/.git/hooks/post-commit b/.git/hooks/post-commit\n"
        "new file mode 100755\n--- /dev/null\n+++ b/.git/hooks/post-commit\n"
        "@@ -0,0 +1 @@\n+touch pwned\n"
    )
    cases = [
        (dict(good, branch="main"), "", "refusing branch name"),
        (dict(good, branch="template-update/../main"), "", "refusing branch name"),
        (dict(good, draft="yes"), "", "draft must be"),
        (dict(good, base="0" * 40), "", "the patch was made on"),
        (good, hook, "git apply refused the patch"),
    ]
    for pr, patch, message in cases:
        (runner / "template-update" / "pull-request.json").write_text(json.dumps(pr))
        (runner / "template-update" / "update.patch").write_text(patch)
        code, out = _run_step(checkout, runner, "pull-request", "push", {}, runner / "output")
        assert code != 0 and message in out, (pr, out)
        assert not (checkout / ".git" / "hooks" / "post-commit").exists()
        git(checkout, "switch", "-q", "main")
        subprocess.run(
            ["git", "branch", "-D", "template-update/0.2.0"],
            cwd=checkout,
            check=False,
            capture_output=True,
        )
    assert git(origin, "branch", "--list", "template-update/*").strip() == ""


# ========================================================================== 7. the trigger question
# The template as it was before the `trigger` question existed (the last commit without it). A
# fixed commit of this repository's history, not a test-made variant: the services that exist
# today were rendered from exactly such a tree.
PRE_TRIGGER_COMMIT = "0d4c71b6daa4c90182090600d71e8576d75b8219"
IACS = ("sam", "cdk", "terraform")
# Opt-in updates, one per iac and per trigger.
OPT_INS = [("sam", "rest-api"), ("cdk", "sqs"), ("terraform", "function-url")]


def _replace_tree(repo: Path, files: dict[str, Path]) -> None:
    for path in list(repo.rglob("*")):
        if path.is_file() and ".git" not in path.relative_to(repo).parts:
            path.unlink()
    for rel, source in files.items():
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def releases_from(commit: str, repo: Path) -> Template:
    """0.1.0 = the template at ``commit`` of this repository's history, 0.2.0 = this working
    tree: the services that exist today were rendered from exactly such trees."""
    probe = subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=ROOT, check=False)
    if probe.returncode != 0:
        missing_tool(
            f"the template's git history lacks {commit} (a shallow clone?): "
            "`git fetch --unshallow` brings it"
        )
    repo.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit], cwd=ROOT, check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(repo)], input=archive.stdout, check=True)
    git(repo, "init", "-q", "-b", "main")
    template = Template(repo)
    template.release("0.1.0")
    _replace_tree(repo, {rel: ROOT / rel for rel in working_tree_files()})
    template.release("0.2.0")
    return template


@pytest.fixture(scope="module")
def trigger_releases(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """0.1.0 = the template before the trigger question (PRE_TRIGGER_COMMIT), 0.2.0 = this
    working tree."""
    template = releases_from(
        PRE_TRIGGER_COMMIT, tmp_path_factory.mktemp("trigger-template") / "template"
    )
    assert "\ntrigger:" not in git(template.path, "show", "0.1.0:copier.yml")
    return template


def copier_answers(project: Path) -> dict:
    """The answers a fresh render needs to reproduce ``project`` (no Copier metadata)."""
    return {k: v for k, v in answers(project).items() if not k.startswith("_")}


def assert_same_tree(updated: Path, fresh: Path) -> None:
    """File for file equal; in the answers file only `_commit` may differ."""
    got, want = tree(updated), tree(fresh)
    assert sorted(got) == sorted(want)
    differing = sorted(rel for rel in got if got[rel] != want[rel])
    assert differing in ([], [".copier-answers.yml"]), differing
    if differing:
        a, b = yaml.safe_load(got[differing[0]]), yaml.safe_load(want[differing[0]])
        a.pop("_commit"), b.pop("_commit")
        assert a == b


@dataclass
class PreTriggerUpdate:
    project: Path
    fresh: Path
    output: str


@pytest.fixture(scope="module", params=IACS)
def pre_trigger_update(
    request: pytest.FixtureRequest,
    trigger_releases: Template,
    tmp_path_factory: pytest.TempPathFactory,
) -> PreTriggerUpdate:
    """A service rendered at 0.1.0 (before the question), updated with --defaults to 0.2.0
    and committed; and a fresh 0.2.0 render with the answers the update recorded."""
    base = tmp_path_factory.mktemp(f"pre-trigger-{request.param}")
    project = render_project(trigger_releases, base / "svc", "0.1.0", iac=request.param)
    assert "trigger" not in answers(project)
    result = update(project, "0.2.0")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    commit_all(project, "template 0.2.0")
    fresh = base / "fresh"
    render_fresh(trigger_releases, fresh, project, "0.2.0")
    return PreTriggerUpdate(project, fresh, out)


def render_fresh(template: Template, dest: Path, like: Path, version: str) -> Path:
    """A fresh render of ``version`` with the answers ``like`` recorded (tasks skipped)."""
    copier.run_copy(
        str(template.path),
        str(dest),
        data=copier_answers(like),
        vcs_ref=version,
        defaults=True,
        unsafe=True,
        quiet=True,
        skip_tasks=True,
    )
    return dest


def test_service_from_before_the_question_gains_no_trigger(
    pre_trigger_update: PreTriggerUpdate,
) -> None:
    project, out = pre_trigger_update.project, pre_trigger_update.output
    assert answers(project)["trigger"] == "none"
    assert out.count("[migration trigger-answer]") == 1
    assert "recorded `trigger: none` so it keeps no event source" in out
    assert json.loads((project / "events" / "sample.json").read_text()) == {"name": "OpenTelemetry"}
    assert not (project / "events" / "bad-request.json").exists()
    names = {p.name for p in project.rglob("*") if ".git" not in p.parts}
    assert not names & {"http_api.py", "sqs_batch.py", "api.tf", "queue.tf", "function_url.tf"}
    iac = answers(project)["iac"]
    infra = {
        "sam": project / "template.yaml",
        "cdk": project / "infra" / "config.json",
        "terraform": project / "terraform" / "main.tf",
    }[iac].read_text()
    for word in ("Serverless::Api", "FunctionUrlConfig", "AWS::SQS", "aws_sqs", "aws_api_gateway"):
        assert word not in infra
    if iac == "cdk":
        assert json.loads(infra)["trigger"] == "none"


def test_update_from_before_the_question_equals_a_fresh_render(
    pre_trigger_update: PreTriggerUpdate,
) -> None:
    assert status(pre_trigger_update.project) == []
    assert_same_tree(pre_trigger_update.project, pre_trigger_update.fresh)


def test_a_no_op_update_after_it_changes_nothing(pre_trigger_update: PreTriggerUpdate) -> None:
    project = pre_trigger_update.project
    before = tree(project)
    result = update(project, "0.2.0")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "Keeping template version 0.2.0" in out
    assert "`trigger` is already answered" in out
    assert status(project) == []
    assert tree(project) == before
    assert_same_tree(project, pre_trigger_update.fresh)


@pytest.mark.parametrize(("iac", "trigger"), OPT_INS, ids=[f"{i}-{t}" for i, t in OPT_INS])
def test_a_service_from_before_the_question_opts_in_with_d(
    trigger_releases: Template, tmp_path: Path, iac: str, trigger: str
) -> None:
    project = render_project(trigger_releases, tmp_path / "svc", "0.1.0", iac=iac)
    result = update(project, "0.2.0", "-d", f"trigger={trigger}")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert f"this update switches it to `{trigger}`" in out
    assert answers(project)["trigger"] == trigger
    assert not [line for line in status(project) if line[:2] in ("UU", "AA", "DU", "UD")]
    commit_all(project, f"template 0.2.0 with trigger={trigger}")
    fresh = tmp_path / "fresh"
    render_fresh(trigger_releases, fresh, project, "0.2.0")
    assert_same_tree(project, fresh)
    tests = run_project_tests(project)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]


# ======================================================== 8. the tooling leaves the service
# The last template whose services carried the tooling themselves: localrun/, layerbuild/ and the
# whole collector (lifecycle, exporter, tests, test data). Updating such a service to this tree
# moves it to the thin layout: the tool pinned in requirements-dev.txt, a thin collector/.
TOOLING_IN_SERVICE_COMMIT = "4c4c38dfc600ed7051ade351db43d27341f67727"
# What only the old layout had; an update must leave none of it.
OLD_LAYOUT = ("localrun", "layerbuild", "pins.toml", "layer", "collector/internal")


def team_edits(project: Path) -> None:
    """What a team does to its service: the handler, the IaC, the collector config (lines both
    layouts have, so the same edit applies to an old render and to a fresh one)."""
    with (project / "app.py").open("a") as app:
        app.write('\n\ndef healthcheck() -> dict[str, str]:\n    return {"status": "ok"}\n')
    replace_once(
        project / CONFIG,
        "    send_batch_size: 50\n",
        "    # billing: bigger batches for the nightly import\n    send_batch_size: 64\n",
    )
    iac = answers(project)["iac"]
    if iac == "sam":
        with (project / "template.yaml").open("a") as template:
            template.write("  TeamOwner:\n    Description: who runs it\n    Value: billing\n")
    elif iac == "cdk":
        with (project / "infra" / "stack.py").open("a") as stack:
            stack.write('\n\nTEAM_OWNER = "billing"  # read by our dashboards\n')
    else:
        with (project / "terraform" / "main.tf").open("a") as main_tf:
            main_tf.write('\nlocals {\n  owning_team = "billing"\n}\n')


@pytest.fixture(scope="module")
def layout_releases(tmp_path_factory: pytest.TempPathFactory) -> Template:
    template = releases_from(
        TOOLING_IN_SERVICE_COMMIT, tmp_path_factory.mktemp("layout-template") / "template"
    )
    assert "localrun" in git(template.path, "ls-tree", "-r", "--name-only", "0.1.0")
    return template


@dataclass
class LayoutUpdate:
    project: Path
    fresh: Path
    output: str


@pytest.fixture(scope="module", params=IACS)
def layout_update(
    request: pytest.FixtureRequest,
    layout_releases: Template,
    tmp_path_factory: pytest.TempPathFactory,
) -> LayoutUpdate:
    """A service of the old layout with the team's edits, updated to this tree; and a fresh
    render of this tree with the same answers and the same edits."""
    base = tmp_path_factory.mktemp(f"layout-{request.param}")
    project = render_project(layout_releases, base / "svc", "0.1.0", iac=request.param)
    assert (project / "localrun").is_dir() and (project / "layerbuild").is_dir()
    team_edits(project)
    commit_all(project, "team edits")
    result = update(project, "0.2.0")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    conflicted = [line for line in status(project) if line[:2] in ("UU", "AA", "DU", "UD")]
    assert conflicted == [], out
    commit_all(project, "template 0.2.0")
    fresh = render_fresh(layout_releases, base / "fresh", project, "0.2.0")
    team_edits(fresh)
    return LayoutUpdate(project, fresh, out)


def test_the_update_moves_the_service_to_the_thin_layout(layout_update: LayoutUpdate) -> None:
    project = layout_update.project
    for old in OLD_LAYOUT:
        assert not (project / old).exists(), f"{old} survived the update"
    collector = sorted(p.name for p in (project / "collector").iterdir())
    assert collector == ["README.md", "components.go", "config.yaml", "go.mod", "go.sum", "main.go"]
    requirement = [
        line
        for line in (project / "requirements-dev.txt").read_text().splitlines()
        if line.startswith("lambda-otel-xray-tool @ ")
    ]
    template = Path(answers(project)["_src_path"])
    commit = git(template, "rev-parse", "0.2.0^{commit}").strip()
    assert requirement == [
        f"lambda-otel-xray-tool @ git+file://{answers(project)['_src_path']}@{commit}"
        "#subdirectory=tool"
    ]
    assert "lambdaotelxray v" in (project / "collector" / "go.mod").read_text()
    assert "\t$(TOOL) layer\n" in (project / "Makefile").read_text()


def test_the_update_keeps_the_team_edits_and_equals_a_fresh_render(
    layout_update: LayoutUpdate,
) -> None:
    """The updated service is a fresh render of this tree with the team's edits: nothing of
    the old layout left, nothing the team did lost, no file the team never touched different."""
    project = layout_update.project
    assert (project / "app.py").read_text().endswith('return {"status": "ok"}\n')
    assert "send_batch_size: 64" in (project / CONFIG).read_text()
    assert status(project) == []
    assert_same_tree(project, layout_update.fresh)
    tests = run_project_tests(project)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
