"""Names AWS limits, as the rendered IaC derives them from the slug: for every iac x trigger,
render the longest slug the validators accept, collect every resource name that carries the
slug (SAM template and samconfig, the CDK synth, the Terraform files), and check that

- each name fits its AWS limit (LIMITS below; a name of a kind the table lacks fails the test,
  so a new named resource cannot slip past);
- the accepted slug is exactly as long as the tightest limit allows (no rule refuses more than
  AWS does), and one character more is refused with a message naming the resource;
- the default slug's cut (macros/answers.jinja DEFAULT_SLUG_MAX) is the shortest of these, so a
  default slug works with every iac and trigger.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from answer_space import SLUG_MAX, load_hcl
from project_checks import missing_tool
from render import render
from toolenv import tool_venv, venv_bin

pytestmark = pytest.mark.iac

ROOT = Path(__file__).resolve().parent.parent
TRIGGERS = ("rest-api", "function-url", "sqs", "none")
SLUG_RULE_MAX = 64  # copier.yml: 3 to 64 characters

# (resource type, name property) -> AWS's limit in characters (None: AWS documents none).
# Lambda: CreateFunction's FunctionName, "limited to 64 characters"; IAM quotas: role name 64,
# inline policy name 128; SQS: queue name 80; CloudWatch Logs: log group name 512; ECR: repository
# name 256; CloudFormation: stack name 128; API Gateway: the RestApi name has no documented limit.
LIMITS: dict[tuple[str, str], int | None] = {
    ("AWS::Serverless::Function", "FunctionName"): 64,
    ("AWS::Lambda::Function", "FunctionName"): 64,
    ("AWS::IAM::Role", "RoleName"): 64,
    ("AWS::SQS::Queue", "QueueName"): 80,
    ("AWS::Logs::LogGroup", "LogGroupName"): 512,
    ("AWS::Serverless::Api", "Name"): None,
    ("AWS::ApiGateway::RestApi", "Name"): None,
    ("AWS::CloudFormation::Stack", "StackName"): 128,
    ("AWS::ECR::Repository", "RepositoryName"): 256,
    ("aws_lambda_function", "function_name"): 64,
    ("aws_iam_role", "name"): 64,
    ("aws_iam_role_policy", "name"): 128,
    ("aws_sqs_queue", "name"): 80,
    ("aws_cloudwatch_log_group", "name"): 512,
    ("aws_ecr_repository", "name"): 256,
    ("aws_api_gateway_rest_api", "name"): None,
}

Name = tuple[str, str, str]  # (resource type, property, value)


def _cfn_names(template: dict[str, Any], slug: str) -> list[Name]:
    found = []
    for resource in template.get("Resources", {}).values():
        for key, value in (resource.get("Properties") or {}).items():
            if key.endswith("Name") and isinstance(value, str) and slug in value:
                found.append((resource["Type"], key, value))
    return found


class _AnyTag(yaml.SafeLoader):
    pass


_AnyTag.add_multi_constructor("!", lambda loader, suffix, node: None)


def sam_names(project: Path, slug: str) -> list[Name]:
    config = tomllib.loads((project / "samconfig.toml").read_text(encoding="utf-8"))
    stack = config["default"]["global"]["parameters"]["stack_name"]
    found: list[Name] = [("AWS::CloudFormation::Stack", "StackName", stack)]
    for name in ("template.yaml", "ecr.yaml"):
        template = yaml.load((project / name).read_text(encoding="utf-8"), Loader=_AnyTag)
        found += _cfn_names(template, slug)
    # The repository's stack is named in deploy.mk (`ECR_STACK = <slug>-ecr`).
    [ecr_stack] = re.findall(r"^ECR_STACK = (\S+)$", (project / "deploy.mk").read_text(), re.M)
    return [*found, ("AWS::CloudFormation::Stack", "StackName", ecr_stack)]


def cdk_names(project: Path, slug: str, outdir: Path) -> list[Name]:
    from test_iac import _synth

    if shutil.which("node") is None:
        missing_tool("node is not installed: aws-cdk-lib (jsii) needs it to synthesize")
    requirements = (project / "requirements-cdk.txt").read_text(encoding="utf-8").splitlines()
    proc = _synth(project, venv_bin(tool_venv("cdk", requirements), "python"), outdir)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    # Two stacks: the function's and its ECR repository's (`<slug>-ecr`).
    found: list[Name] = []
    for template_path in sorted(outdir.glob("*.template.json")):
        template = json.loads(template_path.read_text(encoding="utf-8"))
        stack = template_path.name.removesuffix(".template.json")
        found += [*_cfn_names(template, slug), ("AWS::CloudFormation::Stack", "StackName", stack)]
    assert len(found) > 2, found
    return found


def terraform_names(project: Path, slug: str) -> list[Name]:
    docs = [load_hcl(path) for path in sorted((project / "terraform").glob("*.tf"))]
    local_values: dict[str, str] = {}
    for doc in docs:
        for block in doc.get("locals", []):
            local_values.update({k: v for k, v in block.items() if isinstance(v, str)})

    def resolve(value: str) -> str:
        return re.sub(r"\$\{local\.(\w+)\}", lambda m: resolve(local_values[m[1]]), value)

    found = []
    for doc in docs:
        for item in doc.get("resource", []):
            for kind, bodies in item.items():
                for body in bodies.values():
                    for key, value in body.items():
                        if key in {"name", "function_name"} and isinstance(value, str):
                            value = resolve(value)
                            if slug in value:
                                found.append((kind, key, value))
    return found


def _render(template_repo: Path, dest: Path, slug: str, iac: str, trigger: str) -> Path:
    return render(template_repo, dest, {"project_slug": slug, "iac": iac, "trigger": trigger})


@pytest.mark.parametrize("trigger", TRIGGERS)
@pytest.mark.parametrize("iac", ["sam", "cdk", "terraform"])
def test_derived_names_fit_and_the_slug_rule_is_tight(
    template_repo: Path, tmp_path: Path, iac: str, trigger: str
) -> None:
    accepted = SLUG_MAX.get((iac, trigger), SLUG_RULE_MAX)
    slug = ("n" * accepted)[:-3] + "-ab"  # a hyphen too, as slugs have
    project = _render(template_repo, tmp_path / "service", slug, iac, trigger)
    if iac == "sam":
        names = sam_names(project, slug)
    elif iac == "cdk":
        names = cdk_names(project, slug, tmp_path / "cdk.out")
    else:
        names = terraform_names(project, slug)
    assert any(kind.endswith(("Function", "lambda_function")) for kind, _, _ in names), names

    longest = SLUG_RULE_MAX
    for kind, prop, value in names:
        assert (kind, prop) in LIMITS, f"{kind}.{prop} = {value!r}: add AWS's limit to LIMITS"
        limit = LIMITS[(kind, prop)]
        if limit is None:
            continue
        assert len(value) <= limit, f"{kind}.{prop} {value!r} is over AWS's {limit}"
        longest = min(longest, limit - (len(value) - len(slug)))
    assert longest == accepted, f"the IaC allows slugs of {longest}, the validators {accepted}"

    if accepted < SLUG_RULE_MAX:
        with pytest.raises(
            ValueError, match=rf"AWS allows \d+\. Choose a slug of at most {accepted}"
        ):
            _render(template_repo, tmp_path / "refused", "n" * (accepted + 1), iac, trigger)
        assert not (tmp_path / "refused").exists() or not any((tmp_path / "refused").iterdir())


def test_default_slug_cut_fits_every_iac_and_trigger() -> None:
    text = (ROOT / "macros" / "answers.jinja").read_text(encoding="utf-8")
    [cut] = re.findall(r"set DEFAULT_SLUG_MAX = (\d+)", text)
    assert int(cut) == min([SLUG_RULE_MAX, *SLUG_MAX.values()])
