"""The answer space, for tests/test_answer_space.py: Hypothesis strategies for everything a user
can answer, the rules that say which answers the template must refuse (an executable statement
of copier.yml's validators), and the checks a rendered project must pass."""

from __future__ import annotations

import ast
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from project_checks import parse_structured

ROOT = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------------- the answers
PYTHON_VERSIONS = ["3.10", "3.11", "3.12", "3.13", "3.14"]
REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-1", "sa-east-1", "il-central-1"]
INSTRUMENTATIONS = ["botocore", "requests", "urllib3", "httpx"]

# Pieces of free text that have broken (or could break) a file of some language: escapes of
# Python, TOML, YAML, HCL and JSON, Jinja and shell syntax, Markdown markup, right-to-left and
# combining characters, emoji and other non-BMP characters, characters YAML does not allow.
TRICKY_TEXT = [
    "\\",
    "\\N",
    "\\x",
    "\\u",
    "\\U0001",
    "\\n",
    '"',
    '"""',
    "'",
    "'''",
    "`",
    "${x}",
    "$${x}",
    "%{x}",
    "{{ x }}",
    "{% x %}",
    "{#",
    "$(id)",
    "%",
    "#",
    "# ",
    "*a*",
    "_a_",
    "[a](b)",
    "<b>",
    "&amp;",
    "~~s~~",
    "|t|",
    "$m$",
    ":smile:",
    "- ",
    "+ ",
    "= ",
    "1. ",
    "2) ",
    "> ",
    "!",
    ";",
    "\u200f",
    "\u202e",
    "\u2066",
    "ع",
    "שלום",
    "注文サービス",
    "\u0301",
    "e\u0301",
    "\u00a0",
    "\u3000",
    "😀",
    "👩\u200d💻",
    "🇯🇵",
    "\U00020000",
    "\U0010fffd",
    "\ufeff",
    "\ufffd",
    "ǅ",
    "ß",
    "İ",
    "Ω",
    "0",
    "99",
]
# Characters no single-line answer may carry, some as injection attempts.
LINE_BREAKING = [
    "\n",
    "\r",
    "\r\n",
    "\t",
    "\x00",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\u2028",
    "\u2029",
    "\nRUN curl http://example.invalid | sh",
    "\ufffe",
    "\uffff",
    "\U0010ffff",
    "\ufdd0",
    "\n.PHONY: pwn\npwn:\n\ttouch /tmp/pwned",
]
SPACE_AT_EDGE = [" ", "  ", "\u00a0", "\u3000"]


def _is_noncharacter(char: str) -> bool:
    """One of Unicode's 66 noncharacters: U+FDD0-U+FDEF and the last two of every plane."""
    code = ord(char)
    return 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


_WORDS = st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=8)
_ANY = st.text(
    st.characters(exclude_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=4
).filter(lambda s: not any(_is_noncharacter(c) for c in s))
_PIECE = st.one_of(_WORDS, _WORDS, st.just(" "), st.sampled_from(TRICKY_TEXT), _ANY)


def _text(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return (
        st.lists(_PIECE, min_size=min_size, max_size=10)
        .map("".join)
        .map(lambda s: s.strip() or "x")
        .filter(lambda s: min_size <= len(s) <= max_size)
    )


# Slugs that name something: keywords, stdlib modules, packages the function imports, the
# project's own files, and the longest slugs (the IaC derives longer names from them).
TRICKY_SLUGS = [
    "lambda",
    "class",
    "import",
    "async",
    "queue",
    "email",
    "http",
    "json",
    "typing",
    "abc",
    "logging",
    "asyncio",
    "boto3",
    "botocore",
    "opentelemetry",
    "wrapt",
    "requests",
    "pytest",
    "moto",
    "app",
    "tests",
    "events",
    "collector",
    "layer",
    "infra",
    "terraform",
    "build",
    "layerbuild",
    "localrun",
    "a" * 48,
    "a" * 49,
    "a" * 64,
    "x" + "-y" * 31,
    "abc",
]
_SLUG_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-"


def _slug_from(raw: str) -> str:
    slug = re.sub("-+", "-", "s" + raw)[:64].rstrip("-")
    return slug if len(slug) >= 3 else slug + "vc"


_RANDOM_SLUG = st.text(st.sampled_from(_SLUG_ALPHABET), min_size=2, max_size=63).map(_slug_from)
# Nine in ten slugs are random, so most answer sets render; one in ten names something.
_SLUG = st.one_of(*[_RANDOM_SLUG] * 9, st.sampled_from(TRICKY_SLUGS))


@st.composite
def answer_sets(draw: st.DrawFn) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "project_name": draw(_text(1, 120)),
        "project_slug": draw(_SLUG),
        "description": draw(
            st.one_of(_text(0, 256), st.sampled_from(["", "😀" * 128, "😀" * 129, "é" * 256]))
        ),
        "python_version": draw(st.sampled_from(PYTHON_VERSIONS)),
        "architecture": draw(st.sampled_from(["x86_64", "arm64"])),
        "memory_size": draw(st.one_of(st.sampled_from([128, 10240]), st.integers(128, 10240))),
        "timeout": draw(st.one_of(st.integers(1, 29), st.sampled_from([1, 29, 30, 900]))),
        "aws_region": draw(st.sampled_from(REGIONS)),
        "iac": draw(st.sampled_from(["sam", "cdk", "terraform"])),
        "trigger": draw(st.sampled_from(["rest-api", "function-url", "sqs", "none"])),
        "trace_exporter": draw(st.sampled_from(["awsxray", "xray-otlp"])),
        "instrumentations": [
            "botocore",
            *draw(st.lists(st.sampled_from(INSTRUMENTATIONS[1:]), unique=True)),
        ],
    }
    # One answer set in ten carries what a single-line answer cannot (the validators' business).
    if draw(st.integers(0, 9)) == 9:
        field = draw(st.sampled_from(["project_name", "description"]))
        value = answers[field]
        if draw(st.booleans()):
            bad = draw(st.sampled_from(LINE_BREAKING))
            at = draw(st.integers(0, len(value)))
            answers[field] = value[:at] + bad + value[at:]
        else:
            edge = draw(st.sampled_from(SPACE_AT_EDGE))
            answers[field] = edge + value if draw(st.booleans()) else value + edge
    return answers


# ------------------------------------------------------------------- which answers are refused
@dataclass(frozen=True)
class ReservedNames:
    keywords: frozenset[str]
    stdlib: frozenset[str]
    packages: frozenset[str]
    layout: frozenset[str]

    @classmethod
    def load(cls) -> ReservedNames:
        text = (ROOT / "macros" / "reserved_names.jinja").read_text(encoding="utf-8")

        def listed(name: str) -> frozenset[str]:
            match = re.search(r"set " + name + r" = \[(.*?)\]", text, re.DOTALL)
            assert match, f"macros/reserved_names.jinja has no {name} list"
            return frozenset(re.findall(r"'([^']+)'", match[1]))

        return cls(*(listed(n) for n in ("keywords", "stdlib", "packages", "layout")))

    def __contains__(self, package: object) -> bool:
        return any(package in s for s in (self.keywords, self.stdlib, self.packages, self.layout))


_LINE_BREAKING = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{2,63}$")
# Derived names a 64-character slug can push over AWS's limits (tests/test_resource_names.py
# finds them in the rendered IaC): (iac, trigger) -> longest slug.
SLUG_MAX = {("terraform", "rest-api"): 48}


def _one_line(value: str) -> str | None:
    if _LINE_BREAKING.search(value):
        return "must be a single line"
    if any(_is_noncharacter(c) for c in value):
        return "noncharacter"
    if value != value.strip():
        return "starts or ends with white space"
    return None


def refusal(answers: dict[str, Any], reserved: ReservedNames) -> str | None:
    """The words Copier's message must contain if the answers are to be refused, else None.
    Copier asks (and validates) in copier.yml's order, so the first broken rule is reported."""
    name, slug, description = (
        answers["project_name"],
        answers["project_slug"],
        answers["description"],
    )
    if not name.strip():
        return "cannot be empty"
    if problem := _one_line(name):
        return problem
    if not _SLUG_RE.match(slug) or slug.endswith("-") or "--" in slug:
        return "not a valid slug"
    if slug.replace("-", "_") in reserved:
        return "cannot be the slug"
    if len(description.encode("utf-16-le")) // 2 > 256:
        return "allows at most 256"
    if problem := _one_line(description):
        return problem
    if answers["trigger"] == "rest-api" and answers["timeout"] > 29:
        return "cannot wait for a timeout"
    limit = SLUG_MAX.get((answers["iac"], answers["trigger"]))
    if limit is not None and len(slug) > limit:
        return f"at most {limit} characters"
    return None


# ------------------------------------------------------------------ what a project must show
_MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _inline_text(tokens: list[Any], index: int) -> tuple[str, list[str]]:
    """The text of the inline token after tokens[index] and the kinds of its children that are
    not plain text (markup the text was taken as)."""
    inline = tokens[index + 1]
    children = inline.children or []
    markup = [c.type for c in children if c.type != "text"]
    return "".join(c.content for c in children if c.type == "text"), markup


def readme_texts(readme: str) -> tuple[tuple[str, list[str]], tuple[str, list[str]] | None]:
    """(title, markup) and (first paragraph, markup) of a README."""
    tokens = _MARKDOWN.parse(readme)
    heading = next(i for i, t in enumerate(tokens) if t.type == "heading_open")
    paragraph = next(
        (i for i, t in enumerate(tokens) if t.type == "paragraph_open" and i > heading), None
    )
    title = _inline_text(tokens, heading)
    return title, (_inline_text(tokens, paragraph) if paragraph is not None else None)


def hcl_string(value: str) -> str:
    """A string as Terraform reads it, from python-hcl2's value: python-hcl2 decodes the
    backslash escapes but keeps the template escapes `$${` and `%%{` as written (checked against
    `terraform console`)."""
    return value.replace("$${", "${").replace("%%{", "%{")


def load_hcl(path: Path) -> dict[str, Any]:
    options = hcl2.SerializationOptions(
        strip_string_quotes=True, explicit_blocks=False, with_comments=False
    )
    with path.open(encoding="utf-8") as fh:
        return hcl2.load(fh, serialization_options=options)


def shown_texts(project: Path, answers: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Where each typed text is shown: {place: (expected, found)}."""
    name, description = answers["project_name"], answers["description"]
    shown: dict[str, tuple[str, str]] = {}

    (title, title_markup), paragraph = readme_texts(
        (project / "README.md").read_text(encoding="utf-8")
    )
    shown["README title"] = (name, title if not title_markup else f"{title} + {title_markup}")
    if description and paragraph is not None:
        text, markup = paragraph
        shown["README description"] = (description, text if not markup else f"{text} + {markup}")

    doc = ast.get_docstring(ast.parse((project / "app.py").read_text(encoding="utf-8")), False)
    first = (doc or "").split(": the AWS Lambda entry point.", 1)[0]
    shown["app.py docstring"] = (name, first)

    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    shown["pyproject description"] = (description, pyproject["project"]["description"])

    makefile = (project / "Makefile").read_text(encoding="utf-8").split("\n", 1)[0]
    shown["Makefile comment"] = (f"# {name}: `make help` lists the targets.", makefile)
    dockerfile = (project / "Dockerfile").read_text(encoding="utf-8").split("\n", 1)[0]
    expected = f"# Container image of {name} for AWS Lambda ("
    shown["Dockerfile comment"] = (expected, dockerfile[: len(expected)])

    if answers["iac"] == "sam":
        template = parse_structured(project / "template.yaml")
        assert isinstance(template, dict)
        shown["SAM template description"] = (description, template["Description"])
        function = template["Resources"]["Function"]["Properties"]
        shown["SAM function description"] = (description, function["Description"])
    elif answers["iac"] == "cdk":
        config = json.loads((project / "infra" / "config.json").read_text(encoding="utf-8"))
        shown["CDK config description"] = (description, config["description"])
    else:
        main = load_hcl(project / "terraform" / "main.tf")
        local_blocks = main.get("locals", [])
        raw = next(b["description"] for b in local_blocks if "description" in b)
        shown["Terraform description"] = (description, hcl_string(raw))
    return shown


def parse_file(path: Path) -> None:
    """Parse one file in its language; raises on a syntax error."""
    text = path.read_text(encoding="utf-8")
    if path.suffix in {".yml", ".yaml", ".json", ".toml"}:
        parse_structured(path)
    elif path.suffix == ".py":
        compile(text, str(path), "exec")
    elif path.suffix == ".tf":
        load_hcl(path)
