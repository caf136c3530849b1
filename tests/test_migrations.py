"""The `copier update` migrations in hooks/migrations.py, as functions (no Copier, no build).

Copier itself runs them in tests/test_update.py; here every branch is checked in milliseconds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from render import Case

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hooks.migrations import (
    exporter_ids,
    main,
    migrate_otlp_http,
    migrate_trigger_answer,
    rebuild_layer,
    record_trigger_answer,
    rename_otlphttp,
)

pytestmark = pytest.mark.render

# Shaped like the template's xray-otlp config, plus what a team might have added.
CONFIG = """\
# Collector config (mentions otlphttp in a comment: comments are never rewritten)
receivers:
  otlp:
    protocols:
      http:
        endpoint: "localhost:4318"

exporters:
  # X-Ray's OTLP endpoint, signed with SigV4.
  otlphttp:
    traces_endpoint: ${env:OTEL_XRAY_OTLP_ENDPOINT:-https://xray.eu-west-1.amazonaws.com/v1/traces}
    compression: gzip
    auth:
      authenticator: sigv4auth
  "otlphttp/backup":   # a second backend the team added
    endpoint: http://collector.example.invalid:4318
  otlphttpish: {}

extensions:
  sigv4auth:
    region: eu-west-1

service:
  extensions: [sigv4auth]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlphttp, "otlphttp/backup"]  # otlphttp first
    traces/block:
      receivers: [otlp]
      exporters:
      - otlphttp/backup
      - otlphttpish
    traces/multiline:
      receivers: [otlp]
      exporters: [otlphttp,
        otlphttp/backup]
"""


def renamed_yaml(data: dict) -> dict:
    """What the config means after the rename, computed on the parsed YAML."""

    def new(component_id: str) -> str:
        kind, sep, name = component_id.partition("/")
        return ("otlp_http" if kind == "otlphttp" else kind) + sep + name

    data = dict(data)
    data["exporters"] = {new(k): v for k, v in data["exporters"].items()}
    for pipeline in data["service"]["pipelines"].values():
        pipeline["exporters"] = [new(e) for e in pipeline["exporters"]]
    return data


def test_renames_keys_and_pipeline_references_in_every_list_form() -> None:
    result = rename_otlphttp(CONFIG)
    assert yaml.safe_load(result.text) == renamed_yaml(yaml.safe_load(CONFIG))
    assert result.skipped == []
    assert len(result.changes) == 7


def test_text_outside_the_renamed_ids_is_untouched() -> None:
    result = rename_otlphttp(CONFIG)
    before, after = CONFIG.splitlines(), result.text.splitlines()
    assert len(before) == len(after)
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    for old_line, new_line in changed:
        assert new_line == old_line.replace("otlphttp", "otlp_http").replace(
            "# otlp_http first", "# otlphttp first"
        )
    # Comments, other ids sharing the prefix, and quoting stay as written.
    assert "# Collector config (mentions otlphttp in a comment" in result.text
    assert "# otlphttp first" in result.text
    assert '  "otlp_http/backup":   # a second backend the team added\n' in result.text
    assert "otlphttpish" in result.text and "otlp_httpish" not in result.text


def test_is_a_no_op_when_already_migrated() -> None:
    once = rename_otlphttp(CONFIG).text
    again = rename_otlphttp(once)
    assert not again.changed
    assert again.text == once


def test_awsxray_config_is_left_alone() -> None:
    config = "exporters:\n  awsxray:\n    region: us-east-1\nservice:\n  pipelines:\n" + (
        "    traces:\n      exporters: [awsxray]\n"
    )
    result = rename_otlphttp(config)
    assert not result.changed and result.text == config


def test_only_exporters_are_renamed() -> None:
    # A receiver or a pipeline's receivers list with the same word is not an exporter.
    config = (
        "receivers:\n  otlphttp: {}\nexporters:\n  otlphttp: {}\n"
        "service:\n  pipelines:\n    traces:\n      receivers: [otlphttp]\n"
        "      exporters: [otlphttp]\n"
    )
    data = yaml.safe_load(rename_otlphttp(config).text)
    assert list(data["receivers"]) == ["otlphttp"]
    assert list(data["exporters"]) == ["otlp_http"]
    assert data["service"]["pipelines"]["traces"] == {
        "receivers": ["otlphttp"],
        "exporters": ["otlp_http"],
    }


def test_an_id_whose_new_name_exists_is_kept_and_reported() -> None:
    config = (
        "exporters:\n  otlphttp: {}\n  otlp_http: {}\n  otlphttp/b: {}\n"
        "service:\n  pipelines:\n    traces:\n      exporters: [otlphttp, otlp_http, otlphttp/b]\n"
    )
    result = rename_otlphttp(config)
    data = yaml.safe_load(result.text)
    assert list(data["exporters"]) == ["otlphttp", "otlp_http", "otlp_http/b"]
    assert data["service"]["pipelines"]["traces"]["exporters"] == [
        "otlphttp",
        "otlp_http",
        "otlp_http/b",
    ]
    assert len(result.skipped) == 1 and "merge the two by hand" in result.skipped[0]


def test_crlf_line_endings_are_kept() -> None:
    crlf = CONFIG.replace("\n", "\r\n")
    result = rename_otlphttp(crlf)
    assert result.text == rename_otlphttp(CONFIG).text.replace("\n", "\r\n")


def test_exporter_ids() -> None:
    assert exporter_ids(CONFIG) == ["otlphttp", "otlphttp/backup", "otlphttpish"]


def test_on_a_project_writes_only_when_something_changes(tmp_path: Path) -> None:
    assert "not found" in migrate_otlp_http(tmp_path)
    config = tmp_path / "collector" / "config.yaml"
    config.parent.mkdir()
    config.write_text(CONFIG)
    message = migrate_otlp_http(tmp_path)
    assert "renamed the deprecated exporter type" in message
    assert "7 place(s)" in message
    migrated = config.read_bytes()
    config.chmod(0o444)  # a second run must not even try to write
    try:
        assert "already migrated" in migrate_otlp_http(tmp_path)
    finally:
        config.chmod(0o644)
    assert config.read_bytes() == migrated


def test_the_rendered_template_config_migrates_cleanly(render_case) -> None:
    """Whatever the template writes today (otlphttp or already otlp_http), the migration leaves
    a config whose exporters and pipeline references agree and no `otlphttp` id."""
    project = render_case(Case("sam", "xray-otlp", "x86_64"))
    text = (project / "collector" / "config.yaml").read_text()
    data = yaml.safe_load(rename_otlphttp(text).text)
    ids = set(data["exporters"])
    assert not any(i.split("/")[0] == "otlphttp" for i in ids)
    for pipeline in data["service"]["pipelines"].values():
        assert set(pipeline["exporters"]) <= ids
    assert data == renamed_yaml(yaml.safe_load(text))


# --------------------------------------------------------------------------- rebuild-layer
def fake_project(tmp_path: Path) -> Path:
    """A project whose `make layer` only records that it ran."""
    project = tmp_path / "svc"
    project.mkdir(parents=True)
    (project / "Makefile").write_text("layer:\n\techo built >> builds.log\n")
    return project


def fake_go(tmp_path: Path) -> str:
    go = tmp_path / "bin" / "go"
    go.parent.mkdir()
    go.write_text("#!/bin/sh\nexit 0\n")
    go.chmod(0o755)
    return str(go.parent)


def test_rebuild_runs_the_projects_build_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = fake_project(tmp_path)
    monkeypatch.setenv("PATH", f"{fake_go(tmp_path)}:/usr/bin:/bin")
    outcome = rebuild_layer(project, env={})
    assert outcome.built, outcome.message
    assert (project / "builds.log").read_text() == "built\n"


def test_rebuild_without_go_says_how_to_build_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = fake_project(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    outcome = rebuild_layer(project, env={})
    assert not outcome.built
    assert "Go is not installed" in outcome.message and "make layer" in outcome.message
    assert not (project / "builds.log").exists()


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_rebuild_can_be_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value) -> None:
    project = fake_project(tmp_path)
    monkeypatch.setenv("PATH", f"{fake_go(tmp_path)}:/usr/bin:/bin")
    outcome = rebuild_layer(project, env={"SKIP_LAYER_BUILD": value})
    assert not outcome.built and "SKIP_LAYER_BUILD" in outcome.message
    assert not (project / "builds.log").exists()
    assert rebuild_layer(project, env={"SKIP_LAYER_BUILD": "0"}).built


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["no-such-migration"]) == 2
    config = tmp_path / "collector" / "config.yaml"
    config.parent.mkdir()
    config.write_text(CONFIG)
    assert main(["otlp-http-exporter", str(tmp_path)]) == 0
    assert "[migration otlp-http-exporter]" in capsys.readouterr().out
    assert "otlphttp:" not in config.read_text()


# --------------------------------------------------------------------------- trigger-answer
PRE_TRIGGER_ANSWERS = """\
# Changes here will be overwritten by Copier; NEVER EDIT MANUALLY
_commit: 0.1.0
_src_path: /templates/copier-lambda-otel-xray
iac: sam
timeout: 10
trace_exporter: awsxray"""


@pytest.mark.parametrize(
    "text",
    [PRE_TRIGGER_ANSWERS, PRE_TRIGGER_ANSWERS + "\n", ""],
    ids=["no-final-newline", "final-newline", "empty"],
)
def test_trigger_answer_is_recorded_when_missing(text: str) -> None:
    new = record_trigger_answer(text)
    assert new is not None and new.startswith(text)
    assert yaml.safe_load(new)["trigger"] == "none"
    assert yaml.safe_load(new) == {**(yaml.safe_load(text) or {}), "trigger": "none"}


@pytest.mark.parametrize("answer", ["none", "sqs", "rest-api"])
def test_trigger_answer_already_given_is_kept(answer: str) -> None:
    assert record_trigger_answer(f"{PRE_TRIGGER_ANSWERS}\ntrigger: {answer}\n") is None


def test_trigger_migration_on_a_project(tmp_path: Path) -> None:
    answers = tmp_path / ".copier-answers.yml"
    answers.write_text(PRE_TRIGGER_ANSWERS + "\n")
    message = migrate_trigger_answer(tmp_path)
    assert "recorded `trigger: none`" in message and "-d trigger=rest-api" in message
    assert yaml.safe_load(answers.read_text())["trigger"] == "none"
    again = answers.read_text()
    assert "already answered" in migrate_trigger_answer(tmp_path)
    assert answers.read_text() == again


def test_trigger_migration_names_an_opt_in(tmp_path: Path) -> None:
    (tmp_path / "answers.yml").write_text(PRE_TRIGGER_ANSWERS + "\n")
    assert "switches it to `sqs`" in migrate_trigger_answer(tmp_path, "answers.yml", "sqs")
    assert "not found" in migrate_trigger_answer(tmp_path, "missing.yml")


def test_trigger_migration_command_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "a.yml").write_text(PRE_TRIGGER_ANSWERS)
    assert main(["trigger-answer", str(tmp_path), "a.yml", ""]) == 0
    assert capsys.readouterr().out.startswith("[migration trigger-answer] a.yml: this service")
