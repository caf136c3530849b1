"""The release command (scripts/release.py) and the versions the repository states."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from template_repo import ROOT, git, snapshot

sys.path.insert(0, str(ROOT / "scripts"))

import release

pytestmark = pytest.mark.render


def test_every_file_states_the_same_version() -> None:
    stated = release.versions_stated(ROOT)
    assert set(stated) == set(release.VERSION_FILES)
    assert len(set(stated.values())) == 1, stated
    from lambda_otel_xray import __version__

    assert __version__ == stated[Path("pyproject.toml")]


def test_changelog_sections_are_pep440_versions_newest_first() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    sections = release.SECTION.findall(text)
    assert sections[0] == "Unreleased"
    versions = [release.parse_version(v) for v in sections[1:]]
    assert versions == sorted(versions, reverse=True)
    for tag in release.release_tags(ROOT):  # every tag this clone has is in the CHANGELOG
        assert str(tag) in sections


def test_the_newest_migration_has_a_changelog_section() -> None:
    text = (ROOT / "copier.yml").read_text()
    gated = release.MIGRATION_VERSION.findall(text)
    sections = release.SECTION.findall((ROOT / "CHANGELOG.md").read_text())
    assert gated and set(gated) <= set(sections)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return snapshot(tmp_path / "template")


def test_a_release_writes_every_version_the_changelog_and_the_tag(repo: Path) -> None:
    assert release.main(["--repo", str(repo), "9.1.0", "--date", "2027-01-02"]) == 0
    assert set(release.versions_stated(repo).values()) == {"9.1.0"}
    changelog = (repo / "CHANGELOG.md").read_text()
    assert changelog.index("## [Unreleased]\n\n## [9.1.0] - 2027-01-02\n") >= 0
    assert "To be released as" not in changelog.split("## [9.1.0]")[1].split("## [")[0]
    assert git(repo, "tag", "--points-at", "HEAD").split() == ["9.1.0"]
    assert git(repo, "log", "-1", "--format=%s").strip() == "Release 9.1.0"
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize(
    ("version", "problem"),
    [
        ("nine", "not a PEP 440 version"),
        ("v9.1.0", "use 9.1.0"),
        ("9.1.0.post1", "not a plain release"),
        ("0.0.1", "not above the newest release"),
    ],
)
def test_bad_versions_are_refused(repo: Path, version: str, problem: str) -> None:
    git(repo, "tag", "0.1.0")
    with pytest.raises(release.ReleaseError, match=problem):
        release.plan(repo, version, "2027-01-02")


def test_a_dirty_tree_or_a_tagged_head_is_refused(repo: Path) -> None:
    git(repo, "tag", "5.0.0")
    with pytest.raises(release.ReleaseError, match="already tagged"):
        release.plan(repo, "9.1.0", "2027-01-02")
    (repo / "README.md").write_text("changed\n")
    with pytest.raises(release.ReleaseError, match="not clean"):
        release.plan(repo, "9.1.0", "2027-01-02")


def test_an_empty_unreleased_section_is_refused(repo: Path) -> None:
    assert release.main(["--repo", str(repo), "9.1.0"]) == 0
    (repo / "README.md").write_text("a change without a CHANGELOG entry\n")
    git(repo, "commit", "-qam", "undocumented")
    with pytest.raises(release.ReleaseError, match="empty"):
        release.plan(repo, "9.2.0", "2027-01-02")


def test_a_migration_gated_above_the_version_is_refused(repo: Path) -> None:
    copier_yml = repo / "copier.yml"
    copier_yml.write_text(copier_yml.read_text().replace('version: "0.2.0"', 'version: "9.9.0"'))
    git(repo, "commit", "-qam", "a migration for later")
    with pytest.raises(release.ReleaseError, match=r"gates migrations on 9\.9\.0"):
        release.plan(repo, "9.1.0", "2027-01-02")


def test_dry_run_writes_nothing(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert release.main(["--repo", str(repo), "9.1.0", "--dry-run"]) == 0
    assert "every check passed" in capsys.readouterr().out
    assert git(repo, "tag", "--list") == "" and git(repo, "status", "--porcelain") == ""
