#!/usr/bin/env python3
"""Generate docs/questions.md from copier.yml (and pins.yml, which copier.yml `!include`s).

    .venv/bin/python scripts/gen_questions_doc.py          # write docs/questions.md
    .venv/bin/python scripts/gen_questions_doc.py --check  # exit 1 if it is out of date

For every question: name, help, type, choices, default and the rules its answer must follow,
in words taken from the validator itself (its conditions and the messages Copier shows) and,
where a validator calls a rule macro of macros/answers.jinja, from that macro's `Refused:` and
`Why:` comment. Computed values
(`when: false`: the package name and the version pins) get their own sections, with the files
of the template that use each pin. Needs PyYAML (in the `test` dependency group).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generated_page
import yaml

ROOT = Path(__file__).resolve().parent.parent
COPIER_YML = ROOT / "copier.yml"
RULE_MACROS = ROOT / "macros" / "answers.jinja"
OUTPUT = ROOT / "docs" / "questions.md"
REGENERATE = ".venv/bin/python scripts/gen_questions_doc.py"


# ----------------------------------------------------------------------------- loading
@dataclass(frozen=True)
class Include:
    """A `!include path` node: Copier merges that file's keys into the configuration."""

    path: str


class CopierLoader(yaml.SafeLoader):
    """A safe loader that keeps Copier's `!include` tag instead of failing on it."""


def _include(loader: yaml.SafeLoader, node: yaml.Node) -> Include:
    return Include(str(loader.construct_scalar(node)))  # type: ignore[arg-type]


CopierLoader.add_constructor("!include", _include)


def load_copier_config(path: Path) -> tuple[dict[str, Any], list[Path]]:
    """All documents of copier.yml merged in order, `!include`d files resolved.

    Returns the merged mapping and the files that were included.
    """
    merged: dict[str, Any] = {}
    included: list[Path] = []

    def merge(document: Any, base: Path) -> None:
        if document is None:
            return
        if isinstance(document, Include):
            target = (base.parent / document.path).resolve()
            included.append(target)
            for sub in yaml.load_all(target.read_text(encoding="utf-8"), Loader=CopierLoader):
                merge(sub, target)
            return
        if not isinstance(document, dict):
            raise SystemExit(f"{base}: expected a mapping, got {type(document).__name__}")
        merged.update(document)

    for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=CopierLoader):
        merge(doc, path)
    return merged, included


def comment_notes(path: Path) -> dict[str, str]:
    """For each top-level key of a YAML file: the comment block above it, or above the nearest
    earlier key that had one (a group note such as "OpenTelemetry Python (...)")."""
    notes: dict[str, str] = {}
    block: list[str] = []
    current = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            block.append(line.lstrip("#").strip())
            continue
        match = re.match(r"^([A-Za-z_][\w-]*):", line)
        if match:
            if block:
                current = " ".join(part for part in block if part)
            notes[match[1]] = current
            block = []
        elif not line.strip() and block and not notes:
            # A blank line ends a comment block that is not attached to a key (file header).
            block = []
    return notes


# ----------------------------------------------------------------------------- validators
_TAG = re.compile(r"{%-?\s*(.*?)\s*-?%}", re.DOTALL)
_EXPR = re.compile(r"{{-?\s*(.*?)\s*-?}}", re.DOTALL)
OPEN, CLOSE = "\u2039", "\u203a"  # single guillemets around placeholders in messages


@dataclass(frozen=True)
class Rule:
    condition: str
    message: str


def _words(message: str, name: str) -> str:
    """The message with `{{ name }}` shown as a value placeholder, other expressions as
    themselves, both between single guillemets."""

    def repl(match: re.Match[str]) -> str:
        expr = match[1].strip()
        return f"{OPEN}value{CLOSE}" if expr == name else f"{OPEN}{expr}{CLOSE}"

    return " ".join(_EXPR.sub(repl, message).split())


def parse_validator(source: str, name: str) -> tuple[list[Rule], dict[str, str]]:
    """Split a validator template into (condition, message) rules and `{% set %}` variables."""
    rules: list[Rule] = []
    variables: dict[str, str] = {}
    condition: str | None = None
    position = 0
    text: list[str] = []

    def close() -> None:
        if condition is not None:
            rules.append(Rule(" ".join(condition.split()), _words("".join(text), name)))

    for match in _TAG.finditer(source):
        text.append(source[position : match.start()])
        position = match.end()
        statement = match[1]
        keyword, _, rest = statement.partition(" ")
        if keyword in ("if", "elif"):
            close()
            condition, text = rest, []
        elif keyword == "else":
            close()
            condition, text = "otherwise", []
        elif keyword == "endif":
            close()
            condition, text = None, []
        elif keyword == "set":
            var, _, value = rest.partition("=")
            variables[var.strip()] = " ".join(value.split())
        else:
            text = []
    return rules, variables


@dataclass(frozen=True)
class MacroRule:
    refused: str
    why: str


_MACRO_DOC = re.compile(r"\{#-?\s*Refused:(.*?)-?#\}\s*\{%-?\s*macro\s+(\w+)\(", re.DOTALL)
_MACRO_CALL = re.compile(OPEN + r"rules\.(\w+)\(.*?\)" + CLOSE)


def macro_rules(path: Path = RULE_MACROS) -> dict[str, MacroRule]:
    """The `Refused: ... Why: ...` comment above each rule macro, by macro name."""
    rules: dict[str, MacroRule] = {}
    for match in _MACRO_DOC.finditer(path.read_text(encoding="utf-8")):
        refused, _, why = match[1].partition("Why:")
        rules[match[2]] = MacroRule(" ".join(refused.split()), " ".join(why.split()))
    return rules


def _list_literal(value: str) -> list[str] | None:
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        return None
    if isinstance(parsed, list) and all(isinstance(v, str | int | float) for v in parsed):
        return [str(v) for v in parsed]
    return None


# ----------------------------------------------------------------------------- rendering
def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_plain(v) for v in value) + "]"
    return " ".join(str(value).split())


def _code(value: Any) -> str:
    text = _plain(value)
    tick = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{tick}{pad}{text}{pad}{tick}"


def _is_jinja(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _short_default(spec: dict[str, Any]) -> str:
    default = spec.get("default")
    if _is_jinja(default):
        return "computed"
    return _code(default) if default is not None else ""


def question_type(spec: dict[str, Any]) -> str:
    kind = spec.get("type", "str" if "choices" in spec else "yaml")
    if spec.get("multiselect"):
        return f"list of `{kind}` (multiselect)"
    return f"`{kind}`"


def choices_table(choices: Any) -> list[str]:
    if not isinstance(choices, dict):
        return [", ".join(_code(value) for value in choices)]
    rows = [(value, label) for label, value in choices.items()]
    lines = ["| value | shown as |", "| --- | --- |"]
    lines += [f"| {_code(value)} | {_cell(str(label))} |" for value, label in rows]
    return lines


def cli_example(name: str, spec: dict[str, Any]) -> str:
    default = spec.get("default")
    if spec.get("multiselect"):
        values = list(default or [])
        choices = spec.get("choices") or []
        options = list(choices.values()) if isinstance(choices, dict) else list(choices)
        extra = next((v for v in options if v not in values), None)
        if extra is not None:
            values.append(extra)
        return f"-d '{name}=[{', '.join(str(v) for v in values)}]'"
    if "choices" in spec:
        choices = spec["choices"]
        options = list(choices.values()) if isinstance(choices, dict) else list(choices)
        value = next((v for v in options if v != default), default)
        return f"-d {name}={value}"
    if _is_jinja(default) or default in (None, ""):
        return f"-d {name}=..."
    value = str(default)
    return f"-d '{name}={value}'" if (" " in value or not value.isascii()) else f"-d {name}={value}"


def render_question(name: str, spec: dict[str, Any]) -> list[str]:
    out = [f"### `{name}`", ""]
    if spec.get("help"):
        out += [_cell(str(spec["help"])), ""]
    out += ["| | |", "| --- | --- |", f"| type | {question_type(spec)} |"]
    default = spec.get("default")
    if _is_jinja(default):
        out.append("| default | computed from other answers (Jinja below) |")
    elif default is not None:
        out.append(f"| default | {_code(default)} |")
    out.append(f"| on the command line | `{cli_example(name, spec)}` |")
    out.append("")
    if _is_jinja(default):
        out += ["Default:", "", "```jinja", " ".join(str(default).split()), "```", ""]
    if "choices" in spec:
        out += ["Choices:", "", *choices_table(spec["choices"]), ""]
    validator = spec.get("validator")
    if "choices" in spec:
        out += [
            "Copier itself refuses a value that is not one of the choices, from `-d`, "
            "`--data-file` or a saved answer alike (“Invalid choice for "
            f"'{name}': ... is not in [...]”).",
            "",
        ]
    if validator:
        rules, variables = parse_validator(str(validator), name)
        shared = macro_rules()
        out += ["Rules (Copier refuses the answer and shows the message):", ""]
        for rule in rules:
            call = _MACRO_CALL.fullmatch(rule.message)
            if call and call[1] in shared:
                macro = shared[call[1]]
                prefix = "" if rule.condition == "otherwise" else f"when `{rule.condition}`: "
                out.append(f"- {prefix}refused: {macro.refused} Why: {macro.why}")
            else:
                out.append(f"- when `{rule.condition}`: “{rule.message}”")
        for var, value in variables.items():
            listed = _list_literal(value)
            shown = ", ".join(f"`{v}`" for v in listed) if listed else _code(value)
            out.append(f"- where `{var}` is {shown}")
        out.append("")
    return out


def _pin_users(name: str) -> list[str]:
    pattern = re.compile(r"{{-?\s*" + re.escape(name) + r"\b")
    users = []
    for path in sorted((ROOT / "template").rglob("*")):
        # Copier renders only files ending in .jinja; others are copied as they are.
        if not path.is_file() or not path.name.endswith(".jinja"):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if pattern.search(text):
            users.append(path.relative_to(ROOT / "template").as_posix())
    return users


def render(config: dict[str, Any], included: list[Path]) -> str:
    questions = {
        k: v
        for k, v in config.items()
        if not k.startswith("_") and isinstance(v, dict) and v.get("when") is not False
    }
    computed = {
        k: v
        for k, v in config.items()
        if not k.startswith("_") and isinstance(v, dict) and v.get("when") is False
    }
    pin_file = next((p for p in included if p.name == "pins.yml"), None)
    pin_names = set()
    if pin_file is not None:
        pin_names = {k for k in (yaml.safe_load(pin_file.read_text(encoding="utf-8")) or {})}
    notes = comment_notes(pin_file) if pin_file else {}

    out = [
        "<!-- GENERATED by scripts/gen_questions_doc.py from copier.yml and pins.yml."
        f" Do not edit: run `{REGENERATE}`. -->",
        "",
        "# Questions",
        "",
        f"Every question `copier copy` asks, as `copier.yml` defines it (Copier "
        f"{config.get('_min_copier_version', '?')} or newer). Answers are saved in "
        f"`{config.get('_answers_file', '.copier-answers.yml')}` of the generated project and "
        "reused by `copier update`. Pass answers with `-d name=value` (repeatable); "
        "`--defaults` takes the default of every question not given.",
        "",
        "Question names are public interface: scripts and CI pass them with `-d`, so they are "
        "never renamed.",
        "",
        "| question | type | default |",
        "| --- | --- | --- |",
    ]
    for name, spec in questions.items():
        out.append(f"| [`{name}`](#{name}) | {question_type(spec)} | {_short_default(spec)} |")
    out.append("")
    out += ["## Questions", ""]
    for name, spec in questions.items():
        out += render_question(name, spec)

    others = {k: v for k, v in computed.items() if k not in pin_names}
    if others:
        out += [
            "## Computed values",
            "",
            "Not asked and not saved (`when: false`): recomputed from the answers on every "
            "`copier copy` and `copier update`.",
            "",
            "| name | value |",
            "| --- | --- |",
        ]
        for name, spec in others.items():
            out.append(f"| `{name}` | {_code(' '.join(str(spec.get('default', '')).split()))} |")
        out.append("")

    pins = {k: v for k, v in computed.items() if k in pin_names}
    if pins:
        out += [
            "## Version pins",
            "",
            "From `pins.yml` (included by `copier.yml`). Computed values: never asked, never "
            "saved in the answers file, so a bump in the template reaches every generated "
            "service on its next `copier update`. Template maintainers change them with "
            "`make bump-collector VERSION=...` and `make bump-python-otel VERSION=... "
            "CONTRIB=...` (`scripts/bump.py`).",
            "",
            "| pin | value | what it pins | used in (template files) |",
            "| --- | --- | --- | --- |",
        ]
        for name, spec in pins.items():
            users = ", ".join(f"`{u}`" for u in _pin_users(name)) or "not used"
            out.append(
                f"| `{name}` | {_code(spec.get('default', ''))} | "
                f"{_cell(notes.get(name, ''))} | {users} |"
            )
        out.append("")

    migrations = config.get("_migrations") or []
    if migrations:
        out += [
            "## Migrations run by `copier update`",
            "",
            "From `_migrations` in `copier.yml`, in the order Copier runs them (after the "
            "update is merged, in the real project only). A versioned entry runs once, when "
            "an update crosses that version; an unversioned one runs on every update.",
            "",
            "| version | migration | runs |",
            "| --- | --- | --- |",
        ]
        for entry in migrations:
            command = entry.get("command", [])
            words = command if isinstance(command, list) else str(command).split()
            script = next((i for i, w in enumerate(words) if str(w).endswith(".py")), None)
            label = str(words[script + 1]) if script is not None and script + 1 < len(words) else ""
            version = entry.get("version", "every update")
            when = " ".join(str(entry.get("when", "")).split())
            out.append(f"| {_code(version)} | `{label}` | {_code(when) if when else ''} |")
        out.append("")

    tasks = config.get("_tasks") or []
    if tasks:
        out += [
            "## After `copier copy`",
            "",
            "`_tasks` in `copier.yml` (they need `--trust`; `--skip-tasks` skips them):",
            "",
        ]
        for task in tasks:
            command = task.get("command", [])
            words = command if isinstance(command, list) else str(command).split()
            shown = " ".join(str(w) for w in words)
            when = " ".join(str(task.get("when", "")).split())
            out.append(f"- `{shown}`" + (f", when `{when}`" if when else ""))
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def generate() -> str:
    config, included = load_copier_config(COPIER_YML)
    return render(config, included)


def main(argv: list[str] | None = None) -> int:
    return generated_page.run(
        argv,
        description=__doc__.splitlines()[0],
        output=OUTPUT,
        generate=generate,
        source="copier.yml",
        regenerate=REGENERATE,
    )


if __name__ == "__main__":
    raise SystemExit(main())
