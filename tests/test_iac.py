"""Deployment files of every rendered case, checked offline.

- SAM: cfn-lint on template.yaml, plus what cfn-lint skips for SAM templates (its IAM action check,
  W3037, is off whenever the Serverless transform is present): exact IAM actions per exporter,
  each a real action, no wildcard actions, logs scoped to the function's own log group, tracing,
  architecture, image packaging, memory/timeout; samconfig.toml (stack, region, capabilities).
  Then the template translated by the AWS SAM translator (what CloudFormation's Serverless
  transform runs; pinned, in a cached venv): cfn-lint on the output and the same checks as CDK's,
  trigger resources included (the API's methods, permissions and stage, the function URL, the
  queues and event source mapping), which only exist after translation.
- CDK: one offline synth per case (`CDK_OUTDIR=... python infra/app.py`, no CDK CLI, no Docker);
  cdk-nag's AwsSolutions pack must pass (exit 0, empty validation report) with every
  acknowledgment carrying a reason; a control synth with acknowledgments disabled proves the pack
  runs and that each acknowledgment matches a real finding; cfn-lint and the same IAM/function
  assertions on the synthesized template.
- Terraform: `terraform fmt -check -recursive`, python-hcl2 assertions.
- checkov with zero failures for all three tools (SAM: template.yaml and ecr.yaml; CDK: every
  synthesized template; Terraform: the .tf files), each suppression in code with its reason
  (`Metadata: checkov: skip` on CloudFormation resources, `#checkov:skip=CKV_...:reason` in .tf
  files), exactly the set expected for the tool and the case's trigger, each matching a finding.
- The image supply chain: every tool deploys from the service's own ECR repository (scan on push,
  immutable tags, lifecycle policy, KMS), created before the function, never a tool-managed one.
- Every trigger: least privilege (the function role gets SQS actions only for sqs, on its queue),
  tracing, Lambda's JSON log format, and the trigger's own resources and nothing else.
- deploy.mk: parses with make, recipes start with a TAB, deploy depends on image.

Heavy tools live in cached venvs (tests/toolenv.py). With CI=true a missing tool fails the test;
elsewhere it skips with the reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
import warnings
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml
from cases import ALL_CASES
from cfnlint.api import ManualArgs, lint_file
from cfnlint.data import AdditionalSpecs
from cfnlint.decode import decode
from cfnlint.helpers import load_resource
from project_checks import missing_tool
from render import Case
from toolenv import ToolEnvError, hcl_fmt_command, tool_venv, venv_bin

pytestmark = pytest.mark.iac


SAM_CASES = [c for c in ALL_CASES if c.iac == "sam"]
CDK_CASES = [c for c in ALL_CASES if c.iac == "cdk"]
TF_CASES = [c for c in ALL_CASES if c.iac == "terraform"]

LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
# Lambda's own active-tracing segments (both exporters) + what each exporter calls.
XRAY_ACTIONS = {
    "awsxray": {"xray:PutTraceSegments", "xray:PutTelemetryRecords"},
    "xray-otlp": {
        "xray:PutSpans",
        "xray:PutSpansForIndexing",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    },
}
LOG_RETENTION_DAYS = 30

# cfn-lint findings accepted on CDK-synthesized templates, each with its reason.
CDK_CFN_LINT_IGNORES = {
    # aws-cdk-lib adds DependsOn on the execution role to every Lambda function, although the
    # Role GetAtt already orders them: harmless redundancy in generated output we do not own.
    "W3005": "CDK's DependsOn on the function role duplicates the GetAtt ordering",
}
# cdk-nag findings the stack acknowledges (Validations.of(...).acknowledge, reason in stack.py).
CDK_NAG_BASE = {
    # X-Ray Put* actions take no resource-level permissions: "*" is the only valid Resource.
    "AwsSolutions-IAM5[Resource::*]",
}
CDK_NAG_BY_TRIGGER = {
    "rest-api": {
        "AwsSolutions-APIG2",  # request validation: the handler validates and answers 400
        "AwsSolutions-APIG3",  # WAF: IAM-authorized and throttled; add a web ACL when exposed
        "AwsSolutions-COG4",  # Cognito authorizer: the API uses IAM authorization
        # The account-level API Gateway CloudWatch role: AWS's managed policy for it.
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AmazonAPIGatewayPushToCloudWatchLogs]",
    },
}
# checkov findings the .tf files skip inline (#checkov:skip=ID:reason); any other is a failure.
TF_CHECKOV_BASE = {
    "CKV_AWS_158",  # log group KMS CMK
    "CKV_AWS_338",  # log retention >= 1 year
    "CKV_AWS_115",  # reserved concurrency
    "CKV_AWS_116",  # dead-letter queue
    "CKV_AWS_117",  # VPC
    "CKV_AWS_173",  # env var KMS CMK
    "CKV_AWS_272",  # code signing (zip packages only)
}
TF_CHECKOV_BY_TRIGGER = {
    "rest-api": {
        "CKV_AWS_120",  # stage cache
        "CKV_AWS_225",  # method settings cache
        "CKV2_AWS_4",  # per-method detailed metrics (logging level itself is ERROR)
        "CKV2_AWS_29",  # WAF
        "CKV2_AWS_51",  # client certificate (the integration is Lambda)
        "CKV2_AWS_53",  # request validator
    },
}
# checkov findings the SAM template and the CDK synth skip (Metadata: checkov: skip, with a
# comment). checkov's CloudFormation checks have no counterpart of CKV_AWS_338 and CKV_AWS_272.
CFN_CHECKOV_BASE = {
    "CKV_AWS_158",  # log group KMS CMK
    "CKV_AWS_115",  # reserved concurrency
    "CKV_AWS_116",  # dead-letter queue
    "CKV_AWS_117",  # VPC
    "CKV_AWS_173",  # env var KMS CMK
}
CFN_CHECKOV_BY_TRIGGER = {
    "rest-api": {"CKV_AWS_120"},  # stage cache
    # A false positive: the check accepts only KmsMasterKeyId, not SqsManagedSseEnabled.
    "sqs": {"CKV_AWS_27"},
}
CHECKOV_EXPECTED = {
    "terraform": (TF_CHECKOV_BASE, TF_CHECKOV_BY_TRIGGER),
    "sam": (CFN_CHECKOV_BASE, CFN_CHECKOV_BY_TRIGGER),
    "cdk": (CFN_CHECKOV_BASE, CFN_CHECKOV_BY_TRIGGER),
}
APIGW_LOGS_POLICY = "iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
SQS_ACTIONS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
API_THROTTLE = {"rate": 100, "burst": 50}
SQS_MAX_RECEIVE_COUNT = 5
ECR_KEEP_IMAGES = 10
# CloudFormation resource types each trigger adds (beyond log groups, roles and the function);
# ones in parentheses may appear, depending on the tool.
TRIGGER_TYPES: dict[str, tuple[set[str], set[str]]] = {
    "rest-api": (
        {
            "AWS::ApiGateway::RestApi",
            "AWS::ApiGateway::Stage",
            "AWS::ApiGateway::Deployment",
            "AWS::ApiGateway::Account",
            "AWS::Lambda::Permission",
        },
        {"AWS::ApiGateway::Resource", "AWS::ApiGateway::Method"},
    ),
    "function-url": ({"AWS::Lambda::Url"}, set()),
    "sqs": ({"AWS::SQS::Queue", "AWS::SQS::QueuePolicy", "AWS::Lambda::EventSourceMapping"}, set()),
    "none": (set(), set()),
}
BASE_TYPES = {"AWS::Logs::LogGroup", "AWS::IAM::Role", "AWS::Lambda::Function"}


def trigger_of(answers: dict[str, Any]) -> str:
    return answers["trigger"]


def cdk_nag_acknowledged(trigger: str) -> set[str]:
    return CDK_NAG_BASE | CDK_NAG_BY_TRIGGER.get(trigger, set())


def checkov_skips(iac: str, trigger: str) -> set[str]:
    base, by_trigger = CHECKOV_EXPECTED[iac]
    return base | by_trigger.get(trigger, set())


CHECKOV_REQUIREMENTS = ["checkov==3.3.30"]

_IAM_SPEC = load_resource(AdditionalSpecs, "Policies.json")


def run(cmd: list[str], cwd: Path, *, env: dict[str, str] | None = None, timeout: float = 600):
    return subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def answers_of(project: Path) -> dict[str, Any]:
    """The answers the project was rendered with, defaults included."""
    return yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))


def cfn_lint(template: Path, region: str, ignore: tuple[str, ...] = ()) -> list[str]:
    """cfn-lint (pinned in the main venv), in-process, against the project's own region."""
    config = ManualArgs(regions=[region], ignore_checks=list(ignore))
    return [str(match) for match in lint_file(template, config=config)]


def iam_action_exists(action: str) -> bool:
    service, _, name = action.partition(":")
    return name.lower() in _IAM_SPEC.get(service, {}).get("Actions", {})


# ------------------------------------------------------------------ CloudFormation assertions


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _resources(template: dict, cfn_type: str) -> dict[str, dict]:
    return {
        name: res
        for name, res in template.get("Resources", {}).items()
        if res.get("Type") == cfn_type
    }


def _one(template: dict, cfn_type: str) -> tuple[str, dict]:
    found = _resources(template, cfn_type)
    assert len(found) == 1, f"expected exactly one {cfn_type}, found {sorted(found)}"
    return next(iter(found.items()))


def _getatt(value: Any) -> list[str] | None:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return target.split(".", 1) if isinstance(target, str) else list(target)
    return None


def _refers_to(value: Any, logical_id: str) -> bool:
    """Whether ``value`` is, or contains, a Ref or GetAtt of ``logical_id``."""
    if isinstance(value, list):
        return any(_refers_to(v, logical_id) for v in value)
    if not isinstance(value, dict):
        return False
    target = _getatt(value)
    if value.get("Ref") == logical_id or (target is not None and target[0] == logical_id):
        return True
    return any(_refers_to(v, logical_id) for v in value.values())


def _with_partition(value: Any) -> str:
    """An ARN written as Fn::Sub (SAM) or Fn::Join (CDK) of the partition, in the aws partition."""
    if isinstance(value, str):
        return value
    if "Fn::Sub" in value:
        return value["Fn::Sub"].replace("${AWS::Partition}", "aws")
    separator, parts = value["Fn::Join"]
    return separator.join("aws" if p == {"Ref": "AWS::Partition"} else p for p in parts)


def _function_role_statements(role: dict) -> list[dict]:
    return [
        s
        for policy in role["Properties"]["Policies"]
        for s in _as_list(policy["PolicyDocument"]["Statement"])
    ]


def check_cfn_infrastructure(template: dict, answers: dict[str, Any], function_type: str) -> None:
    """Function, log groups and IAM roles of a CloudFormation template (SAM or CDK-synthesized)."""
    slug = answers["project_slug"]
    trigger = trigger_of(answers)

    # Log groups: created explicitly, named for what writes to them, with a retention.
    log_groups = _resources(template, "AWS::Logs::LogGroup")
    names = {lg["Properties"]["LogGroupName"]: lid for lid, lg in log_groups.items()}
    expected_names = {f"/aws/lambda/{slug}"}
    if trigger == "rest-api":
        expected_names.add(f"/aws/apigateway/{slug}/access")
    assert set(names) == expected_names
    for log_group in log_groups.values():
        assert log_group["Properties"]["RetentionInDays"] == LOG_RETENTION_DAYS
    log_id = names[f"/aws/lambda/{slug}"]

    # Function.
    _, function = _one(template, function_type)
    props = function["Properties"]
    assert props["FunctionName"] == slug
    assert props["PackageType"] == "Image"
    assert props["Architectures"] == [answers["architecture"]]
    assert props["MemorySize"] == answers["memory_size"]
    assert props["Timeout"] == answers["timeout"]
    if function_type == "AWS::Serverless::Function":
        assert props["Tracing"] == "Active"
        assert "Policies" not in props, "SAM policy templates would widen the explicit role"
    else:
        assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["Environment"]["Variables"]["OTEL_SERVICE_NAME"] == slug
    # Lambda's JSON log format (it sets AWS_LAMBDA_LOG_FORMAT/AWS_LAMBDA_LOG_LEVEL for the runtime).
    assert props["LoggingConfig"] == {
        "LogGroup": {"Ref": log_id},
        "LogFormat": "JSON",
        "ApplicationLogLevel": "INFO",
        "SystemLogLevel": "INFO",
    }

    # Roles: the function's, explicit and assumed by Lambda only; for rest-api also API
    # Gateway's account-level CloudWatch role. No separate policy resources.
    roles = _resources(template, "AWS::IAM::Role")
    role_target = _getatt(props["Role"])
    assert role_target is not None and role_target[1] == "Arn", "the function uses its own role"
    role_id = role_target[0]
    others = {rid: r for rid, r in roles.items() if rid != role_id}
    assert set(others) == ({_api_account_role(template)} if trigger == "rest-api" else set())
    for rid, api_role in others.items():
        api_props = api_role["Properties"]
        assert _as_list(api_props["AssumeRolePolicyDocument"]["Statement"]) == [
            {
                "Effect": "Allow",
                "Principal": {"Service": "apigateway.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ]
        [managed] = api_props["ManagedPolicyArns"]
        assert _with_partition(managed) == f"arn:aws:{APIGW_LOGS_POLICY}", managed
        assert not api_props.get("Policies"), "the account role needs nothing beyond AWS's policy"
        assert api_role.get("DeletionPolicy") == "Retain", f"{rid}: other APIs may rely on it"
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        assert not _resources(template, kind), f"unexpected {kind}: all permissions are inline"
    role_props = roles[role_id]["Properties"]
    assert not role_props.get("ManagedPolicyArns"), "no managed policies on the function role"
    trust = _as_list(role_props["AssumeRolePolicyDocument"]["Statement"])
    assert trust == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]

    queue_id = _queue_ids(template)[0] if trigger == "sqs" else None
    actions: set[str] = set()
    for statement in _function_role_statements(roles[role_id]):
        assert statement["Effect"] == "Allow"
        assert not {"NotAction", "NotResource", "Condition"} & statement.keys(), statement
        stmt_actions = set(_as_list(statement["Action"]))
        actions |= stmt_actions
        for action in stmt_actions:
            assert "*" not in action, f"wildcard action {action}"
            assert iam_action_exists(action), f"{action} is not an IAM action (cfn-lint's data)"
        resources = _as_list(statement["Resource"])
        if stmt_actions & LOG_ACTIONS:
            assert stmt_actions <= LOG_ACTIONS, statement
            # GetAtt LogGroup.Arn is "arn:...:log-group:/aws/lambda/<slug>:*" (group + streams).
            assert [_getatt(r) for r in resources] == [[log_id, "Arn"]], statement
        elif stmt_actions & SQS_ACTIONS:
            assert stmt_actions == SQS_ACTIONS, statement
            assert [_getatt(r) for r in resources] == [[queue_id, "Arn"]], "only its own queue"
        else:
            assert all(a.startswith("xray:") for a in stmt_actions), statement
            assert resources == ["*"], statement
    expected = LOG_ACTIONS | XRAY_ACTIONS[answers["trace_exporter"]]
    if trigger == "sqs":
        expected |= SQS_ACTIONS
    assert actions == expected, f"role actions {sorted(actions)} != {sorted(expected)}"


def _api_account_role(template: dict) -> str:
    _, account = _one(template, "AWS::ApiGateway::Account")
    target = _getatt(account["Properties"]["CloudWatchRoleArn"])
    assert target is not None and target[1] == "Arn", account
    return target[0]


def _queue_ids(template: dict) -> list[str]:
    """(queue, dead-letter queue) logical ids, told apart by the redrive policy."""
    queues = _resources(template, "AWS::SQS::Queue")
    [main] = [qid for qid, q in queues.items() if "RedrivePolicy" in q["Properties"]]
    return [main, *[qid for qid in queues if qid != main]]


def _api_methods(template: dict, function_id: str) -> set[tuple[str, str, str]]:
    """(method, path, authorization) of every API method, whether written as
    AWS::ApiGateway::Method resources (CDK) or as the RestApi's OpenAPI body (SAM)."""
    found: set[tuple[str, str, str]] = set()
    resources = _resources(template, "AWS::ApiGateway::Resource")
    for method in _resources(template, "AWS::ApiGateway::Method").values():
        mprops = method["Properties"]
        [resource_id] = [rid for rid in resources if _refers_to(mprops["ResourceId"], rid)]
        path = "/" + resources[resource_id]["Properties"]["PathPart"]
        integration = mprops["Integration"]
        assert integration["Type"] == "AWS_PROXY" and "Credentials" not in integration
        assert function_id in json.dumps(integration["Uri"])
        found.add((mprops["HttpMethod"], path, mprops["AuthorizationType"]))
    for api in _resources(template, "AWS::ApiGateway::RestApi").values():
        body = api["Properties"].get("Body")
        if not body:
            continue
        schemes = body.get("components", {}).get("securitySchemes", {})
        for path, operations in body["paths"].items():
            for verb, operation in operations.items():
                integration = operation["x-amazon-apigateway-integration"]
                assert integration["type"] == "aws_proxy" and "credentials" not in integration
                assert f"${{{function_id}.Arn}}" in json.dumps(integration["uri"])
                [security] = operation["security"]
                [scheme] = security
                auth = schemes[scheme].get("x-amazon-apigateway-authtype")
                found.add((verb.upper(), path, "AWS_IAM" if auth == "awsSigv4" else str(auth)))
    return found


def _permission_stage(template: dict, source_arn: Any) -> str:
    """The stage a Lambda permission's SourceArn (`<api>/<stage>/POST/greetings`) allows: written
    out (SAM's Fn::Sub) or a Ref to the stage resource (CDK's Fn::Join); "*" for any stage."""
    if isinstance(source_arn, dict) and "Fn::Sub" in source_arn:
        match = re.fullmatch(
            r"arn:\$\{AWS::Partition\}:execute-api:\$\{AWS::Region\}:\$\{AWS::AccountId\}:"
            r"\$\{(\w+)\}/([^/]+)/POST/greetings",
            source_arn["Fn::Sub"],
        )
        assert match, source_arn
        assert template["Resources"][match.group(1)]["Type"] == "AWS::ApiGateway::RestApi" or (
            template["Resources"][match.group(1)]["Type"] == "AWS::Serverless::Api"
        )
        return match.group(2)
    _, parts = source_arn["Fn::Join"]
    assert parts[-1] == "/POST/greetings", parts
    stage = parts[-2]
    if isinstance(stage, dict):
        stage_resource = template["Resources"][stage["Ref"]]
        assert stage_resource["Type"] == "AWS::ApiGateway::Stage", stage
        return stage_resource["Properties"]["StageName"]
    return stage.strip("/")


def check_ecr_repository(template: dict, slug: str) -> None:
    """The service's own ECR repository: the same settings whatever the IaC tool."""
    [(repo_id, repo)] = _resources(template, "AWS::ECR::Repository").items()
    props = repo["Properties"]
    assert props["RepositoryName"] == slug
    assert props["ImageTagMutability"] == "IMMUTABLE"
    assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert props["EncryptionConfiguration"] == {"EncryptionType": "KMS"}
    assert props["EmptyOnDelete"] is True, "the stack's deletion takes the images with it"
    assert "RepositoryPolicyText" not in props, "no cross-account or public pulls"
    policy = props["LifecyclePolicy"]["LifecyclePolicyText"]
    if isinstance(policy, dict):  # SAM: Fn::Sub of the KeepImages parameter
        policy = policy["Fn::Sub"].replace("${KeepImages}", str(ECR_KEEP_IMAGES))
        keep = template["Parameters"]["KeepImages"]
        assert keep["Type"] == "Number" and keep["Default"] == ECR_KEEP_IMAGES
    [rule] = json.loads(policy)["rules"]
    assert rule["selection"] == {
        "tagStatus": "any",
        "countType": "imageCountMoreThan",
        "countNumber": ECR_KEEP_IMAGES,
    }
    assert rule["action"] == {"type": "expire"}
    assert repo_id


def check_cfn_trigger(template: dict, answers: dict[str, Any]) -> None:
    """The trigger's resources, and no resource of another trigger."""
    slug, trigger = answers["project_slug"], trigger_of(answers)
    function_id, _ = _one(template, "AWS::Lambda::Function")
    required, optional = TRIGGER_TYPES[trigger]
    types = {r["Type"] for r in template["Resources"].values()}
    assert required <= types, f"missing {sorted(required - types)}"
    assert types <= BASE_TYPES | required | optional, f"unexpected {sorted(types - BASE_TYPES)}"

    if trigger == "rest-api":
        assert _api_methods(template, function_id) == {("POST", "/greetings", "AWS_IAM")}
        _, stage = _one(template, "AWS::ApiGateway::Stage")
        sprops = stage["Properties"]
        assert sprops["StageName"] == "prod" and sprops["TracingEnabled"] is True
        access = sprops["AccessLogSetting"]
        log_groups = _resources(template, "AWS::Logs::LogGroup")
        [access_id] = [
            lid
            for lid, lg in log_groups.items()
            if lg["Properties"]["LogGroupName"] == f"/aws/apigateway/{slug}/access"
        ]
        assert _getatt(access["DestinationArn"]) == [access_id, "Arn"]
        fields = json.loads(access["Format"])
        assert fields["requestId"] == "$context.requestId"
        assert fields["xrayTraceId"] == "$context.xrayTraceId"
        assert sprops["MethodSettings"] == [
            {
                "ResourcePath": "/*",
                "HttpMethod": "*",
                "LoggingLevel": "ERROR",
                "DataTraceEnabled": False,
                "MetricsEnabled": False,
                "ThrottlingRateLimit": API_THROTTLE["rate"],
                "ThrottlingBurstLimit": API_THROTTLE["burst"],
            }
        ]
        # Logging needs the account's CloudWatch role before the stage exists.
        account_id, _ = _one(template, "AWS::ApiGateway::Account")
        depends = [
            *_as_list(stage.get("DependsOn", [])),
            *_as_list(_one(template, "AWS::ApiGateway::RestApi")[1].get("DependsOn", [])),
        ]
        assert account_id in depends
        [permission] = _resources(template, "AWS::Lambda::Permission").values()
        pprops = permission["Properties"]
        assert pprops["Action"] == "lambda:InvokeFunction"
        assert pprops["Principal"] == "apigateway.amazonaws.com"
        assert _refers_to(pprops["FunctionName"], function_id)
        assert _permission_stage(template, pprops["SourceArn"]) == "prod", pprops["SourceArn"]
    elif trigger == "function-url":
        [url] = _resources(template, "AWS::Lambda::Url").values()
        assert url["Properties"]["AuthType"] == "AWS_IAM"
        assert _refers_to(url["Properties"]["TargetFunctionArn"], function_id)
    elif trigger == "sqs":
        queue_id, dead_letter_id = _queue_ids(template)
        queues = _resources(template, "AWS::SQS::Queue")
        assert queues[queue_id]["Properties"]["QueueName"] == slug
        assert queues[dead_letter_id]["Properties"]["QueueName"] == f"{slug}-dlq"
        for queue in queues.values():
            assert queue["Properties"]["SqsManagedSseEnabled"] is True
        main = queues[queue_id]["Properties"]
        assert main["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dead_letter_id, "Arn"]},
            "maxReceiveCount": SQS_MAX_RECEIVE_COUNT,
        }
        assert main["VisibilityTimeout"] == min(6 * answers["timeout"], 43200)
        assert queues[dead_letter_id]["Properties"]["MessageRetentionPeriod"] == 1209600
        # Every queue refuses requests not sent over TLS.
        guarded: set[str] = set()
        for policy in _resources(template, "AWS::SQS::QueuePolicy").values():
            for statement in _as_list(policy["Properties"]["PolicyDocument"]["Statement"]):
                if statement["Effect"] == "Deny" and statement.get("Condition") == {
                    "Bool": {"aws:SecureTransport": "false"}
                }:
                    guarded |= {qid for qid in queues if _refers_to(statement["Resource"], qid)}
        assert guarded == set(queues)
        [mapping] = _resources(template, "AWS::Lambda::EventSourceMapping").values()
        mprops = mapping["Properties"]
        assert _getatt(mprops["EventSourceArn"]) == [queue_id, "Arn"]
        assert _refers_to(mprops["FunctionName"], function_id)
        assert mprops["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mprops["BatchSize"] == 10


# ------------------------------------------------------------------------------------- SAM


@pytest.mark.parametrize("case", SAM_CASES, ids=lambda c: c.id)
def test_sam_cfn_lint(case: Case, render_case) -> None:
    project = render_case(case)
    findings = cfn_lint(project / "template.yaml", answers_of(project)["aws_region"])
    assert not findings, "cfn-lint:\n" + "\n".join(findings)


@pytest.mark.parametrize("case", SAM_CASES, ids=lambda c: c.id)
def test_sam_template(case: Case, render_case) -> None:
    project = render_case(case)
    answers = answers_of(project)
    template, matches = decode(str(project / "template.yaml"))
    assert not matches, matches
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    check_cfn_infrastructure(template, answers, "AWS::Serverless::Function")

    _, function = _one(template, "AWS::Serverless::Function")
    metadata = function["Metadata"]
    assert metadata["Dockerfile"] == "Dockerfile" and metadata["DockerContext"] == "."
    assert metadata.get("DockerTag")
    assert (project / metadata["DockerContext"] / metadata["Dockerfile"]).is_file()
    # The image `make deploy` pushed to the service's own repository, passed as a parameter.
    assert function["Properties"]["ImageUri"] == {"Ref": "ImageUri"}
    image_uri = template["Parameters"]["ImageUri"]
    assert "Default" not in image_uri, "the image must be passed explicitly"
    pattern = re.compile(image_uri["AllowedPattern"])
    region = answers["aws_region"]
    assert pattern.fullmatch(f"123456789012.dkr.ecr.{region}.amazonaws.com/order-service:0123abcd")
    assert not pattern.fullmatch(f"123456789012.dkr.ecr.{region}.amazonaws.com/order-service")
    assert not pattern.fullmatch("public.ecr.aws/lambda/python:3.13")
    apis = _resources(template, "AWS::Serverless::Api")
    assert len(apis) == (1 if answers["trigger"] == "rest-api" else 0), "no implicit API"
    outputs = {"FunctionName", "FunctionArn"} | TRIGGER_OUTPUTS[answers["trigger"]]
    assert set(template["Outputs"]) >= outputs


# What `sam deploy` feeds CloudFormation's Serverless transform: template.yaml itself (the image
# URI stays a parameter, which CloudFormation resolves). Managed policies are never looked up
# (the template names none).
SAM_TRANSLATE = """
import json, sys
from samtranslator.translator.transform import transform

class NoManagedPolicyLookups:
    def load(self):
        raise RuntimeError("the template must not need managed policy lookups")

template = json.load(sys.stdin)
json.dump(transform(template, {}, NoManagedPolicyLookups()), sys.stdout)
"""
SAM_TRANSLATOR_REQUIREMENTS = ["aws-sam-translator==1.115.0"]
TRIGGER_OUTPUTS = {
    "rest-api": {"ApiUrl"},
    "function-url": {"FunctionUrl"},
    "sqs": {"QueueUrl", "DeadLetterQueueUrl"},
    "none": set(),
}


@pytest.fixture(scope="session")
def sam_translator() -> Path:
    try:
        return venv_bin(tool_venv("samtranslator", SAM_TRANSLATOR_REQUIREMENTS), "python")
    except ToolEnvError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.mark.parametrize("case", SAM_CASES, ids=lambda c: c.id)
def test_sam_translated(case: Case, render_case, sam_translator: Path, tmp_path: Path) -> None:
    """The Serverless transform's output: what CloudFormation deploys."""
    project = render_case(case)
    answers = answers_of(project)
    template, matches = decode(str(project / "template.yaml"))
    assert not matches, matches
    region = answers["aws_region"]
    proc = subprocess.run(
        [str(sam_translator), "-c", SAM_TRANSLATE],
        input=json.dumps(template),
        env={**_node_env(), "AWS_DEFAULT_REGION": region},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    translated = json.loads(proc.stdout)
    assert not any(
        r["Type"].startswith("AWS::Serverless::") for r in translated["Resources"].values()
    )
    out = tmp_path / "translated.json"
    out.write_text(json.dumps(translated))
    findings = cfn_lint(out, region)
    assert not findings, "cfn-lint:\n" + "\n".join(findings)
    check_cfn_infrastructure(translated, answers, "AWS::Lambda::Function")
    check_cfn_trigger(translated, answers)
    _, function = _one(translated, "AWS::Lambda::Function")
    assert function["Properties"]["Code"] == {"ImageUri": {"Ref": "ImageUri"}}


@pytest.mark.parametrize("case", SAM_CASES, ids=lambda c: c.id)
def test_sam_ecr_repository(case: Case, render_case) -> None:
    """ecr.yaml: the repository stack `make deploy` creates before the function's."""
    project = render_case(case)
    answers = answers_of(project)
    path = project / "ecr.yaml"
    findings = cfn_lint(path, answers["aws_region"])
    assert not findings, "cfn-lint:\n" + "\n".join(findings)
    template, matches = decode(str(path))
    assert not matches, matches
    assert "Transform" not in template, "plain CloudFormation: `aws cloudformation deploy`"
    assert {r["Type"] for r in template["Resources"].values()} == {"AWS::ECR::Repository"}
    check_ecr_repository(template, answers["project_slug"])
    assert set(template["Outputs"]) == {"RepositoryName", "RepositoryUri"}


@pytest.mark.parametrize("case", SAM_CASES, ids=lambda c: c.id)
def test_samconfig(case: Case, render_case) -> None:
    project = render_case(case)
    answers = answers_of(project)
    config = tomllib.loads((project / "samconfig.toml").read_text(encoding="utf-8"))
    default = config["default"]
    assert default["global"]["parameters"]["stack_name"] == answers["project_slug"]
    assert default["global"]["parameters"]["region"] == answers["aws_region"]
    deploy = default["deploy"]["parameters"]
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    # SAM's companion-stack repository (mutable tags, no scan, no lifecycle) is never used.
    assert not {"resolve_image_repos", "image_repository", "image_repositories"} & set(deploy)
    assert isinstance(deploy["confirm_changeset"], bool)


# ------------------------------------------------------------------------------------- CDK


def _node_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        # The app reads AWS_REGION / CDK_DEFAULT_*: the test must see the rendered defaults.
        if not k.startswith(("AWS_", "CDK_"))
    }
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    return env


@pytest.fixture(scope="session")
def cdk_python(render_case) -> Path:
    """Python of the shared CDK venv, made from the template's own requirements-cdk.txt."""
    if shutil.which("node") is None:
        missing_tool("node is not installed: aws-cdk-lib (jsii) needs it to synthesize")
    project = render_case(CDK_CASES[0])
    requirements = (project / "requirements-cdk.txt").read_text(encoding="utf-8").splitlines()
    try:
        return venv_bin(tool_venv("cdk", requirements), "python")
    except ToolEnvError as exc:
        pytest.fail(str(exc), pytrace=False)


def _synth(
    project: Path,
    python: Path,
    outdir: Path,
    *,
    acknowledge: bool = True,
    context: dict[str, str] | None = None,
):
    if acknowledge:
        cmd = [str(python), "infra/app.py"]
    else:  # control run: every Validations.acknowledge() becomes a no-op
        cmd = [
            str(python),
            "-c",
            "import runpy, sys, aws_cdk\n"
            "aws_cdk.Validations.acknowledge = lambda self, *rules: None\n"
            "sys.path.insert(0, 'infra')\n"
            "runpy.run_path('infra/app.py', run_name='__main__')\n",
        ]
    env = {**_node_env(), "CDK_OUTDIR": str(outdir)}
    if context:  # what `cdk deploy --context key=value` hands the app
        env["CDK_CONTEXT_JSON"] = json.dumps(context)
    return run(cmd, cwd=project, env=env, timeout=600)


def _violations(outdir: Path) -> set[str]:
    report_path = outdir / "validation-report.json"
    if not report_path.is_file():
        return set()
    report = json.loads(report_path.read_text())
    return {
        v["ruleName"]
        for plugin in report.get("pluginReports", [])
        for v in plugin.get("violations", [])
    }


def _acknowledgments(outdir: Path, stack: str) -> dict[str, str]:
    metadata = json.loads((outdir / f"{stack}.metadata.json").read_text())
    found: dict[str, str] = {}
    for entries in metadata.values():
        for entry in entries:
            if entry.get("type") == "aws:cdk:acknowledged-rules":
                for rule, reason in entry["data"].items():
                    found[rule.split("::", 1)[-1]] = reason
    return found


@pytest.mark.parametrize("case", CDK_CASES, ids=lambda c: c.id)
def test_cdk(case: Case, render_case, cdk_python: Path, checkov: Path, tmp_path: Path) -> None:
    """One synth per case, then every CDK check on its output (synth is the slow part)."""
    project = render_case(case)
    answers = answers_of(project)
    stack = answers["project_slug"]
    outdir = tmp_path / "cdk.out"

    proc = _synth(project, cdk_python, outdir)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"synth failed (cdk-nag findings fail it too):\n{output[-6000:]}"

    # cdk-nag: nothing unacknowledged, and each acknowledgment has a reason.
    assert not _violations(outdir), f"cdk-nag violations: {_violations(outdir)}"
    acknowledged = _acknowledgments(outdir, stack)
    assert set(acknowledged) == cdk_nag_acknowledged(answers["trigger"])
    assert all(len(reason.strip()) > 20 for reason in acknowledged.values()), acknowledged

    # No CDK image asset: nothing goes to the bootstrap stack's repository. The function runs
    # the image `make deploy` pushed to the `<slug>-ecr` stack's repository, which it follows.
    for assets_path in outdir.glob("*.assets.json"):
        assert not json.loads(assets_path.read_text()).get("dockerImages"), assets_path.name
    manifest = json.loads((outdir / "manifest.json").read_text())["artifacts"]
    stacks = {k for k, v in manifest.items() if v["type"] == "aws:cloudformation:stack"}
    assert stacks == {stack, f"{stack}-ecr"}
    assert f"{stack}-ecr" in manifest[stack]["dependencies"]
    ecr_template_path = outdir / f"{stack}-ecr.template.json"
    ecr_template = json.loads(ecr_template_path.read_text())
    check_ecr_repository(ecr_template, stack)
    findings = cfn_lint(ecr_template_path, answers["aws_region"], tuple(CDK_CFN_LINT_IGNORES))
    assert not findings, "cfn-lint:\n" + "\n".join(findings)

    # cfn-lint on the synthesized template.
    template_path = outdir / f"{stack}.template.json"
    findings = cfn_lint(template_path, answers["aws_region"], tuple(CDK_CFN_LINT_IGNORES))
    assert not findings, "cfn-lint:\n" + "\n".join(findings)

    template = json.loads(template_path.read_text())
    check_cfn_infrastructure(template, answers, "AWS::Lambda::Function")
    check_cfn_trigger(template, answers)
    outputs = TRIGGER_OUTPUTS[answers["trigger"]] - {"DeadLetterQueueUrl"}
    assert set(template.get("Outputs", {})) >= outputs
    _, function = _one(template, "AWS::Lambda::Function")
    image_uri = json.dumps(function["Properties"]["Code"]["ImageUri"])
    assert f".dkr.ecr.{answers['aws_region']}." in image_uri, image_uri
    # Without --context image_tag the synth says the template is not deployable as is.
    assert f"/{stack}:image-tag-not-set" in image_uri, image_uri
    metadata = json.loads((outdir / f"{stack}.metadata.json").read_text())
    warnings_ = [
        entry["data"]
        for entries in metadata.values()
        for entry in entries
        if entry["type"] == "aws:cdk:warning"
    ]
    assert any("image_tag" in str(w) for w in warnings_), "the synth must warn: no image tag"
    assert not _resources(template, "AWS::ECR::Repository"), "the repository has its own stack"

    # checkov on every synthesized template, suppressions from the resources' Metadata.
    templates = sorted(outdir.glob("*.template.json"))
    check_cfn_checkov(templates, answers, checkov)

    # With the tag `make deploy` passes, the function runs exactly that image.
    tagged = tmp_path / "cdk.out.tagged"
    proc = _synth(project, cdk_python, tagged, context={"image_tag": "0123456789ab"})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    tagged_template = json.loads((tagged / f"{stack}.template.json").read_text())
    _, function = _one(tagged_template, "AWS::Lambda::Function")
    assert json.dumps(function["Properties"]["Code"]["ImageUri"]).endswith(
        f'"/{stack}:0123456789ab"]]}}'
    ), function["Properties"]["Code"]


# Control synths: the findings depend on the shape of the IAM statements, which the exporters
# share (xray-otlp: the most actions), and on the trigger's resources (rest-api: the API's own).
_CONTROL_CASES = [
    next(c for c in CDK_CASES if c.trace_exporter == "xray-otlp"),
    next(c for c in CDK_CASES if c.trigger == "rest-api"),
]
_CONTROL_CASES = list({c.id: c for c in _CONTROL_CASES}.values())


@pytest.mark.parametrize("case", _CONTROL_CASES, ids=lambda c: c.id)
def test_cdk_nag_control(case: Case, render_case, cdk_python: Path, tmp_path: Path) -> None:
    """Without its acknowledgments the stack must fail cdk-nag with exactly those findings:
    proves the AwsSolutions pack runs, and that no acknowledgment is stale or too broad."""
    project = render_case(case)
    outdir = tmp_path / "cdk.out"
    proc = _synth(project, cdk_python, outdir, acknowledge=False)
    assert proc.returncode != 0, "cdk-nag reported nothing without acknowledgments"
    expected = cdk_nag_acknowledged(answers_of(project)["trigger"])
    assert _violations(outdir) == expected, (proc.stdout + proc.stderr)[-4000:]


# ------------------------------------------------------------------------------- Terraform


@pytest.fixture(scope="session")
def fmt_command() -> list[str]:
    try:
        command, description = hcl_fmt_command()
    except ToolEnvError as exc:
        missing_tool(str(exc))
    if description != "terraform":
        warnings.warn(
            f"terraform is not on PATH: formatting is checked with {description} "
            "(same fmt rules; see tests/toolenv.py)",
            stacklevel=1,
        )
    return command


@pytest.mark.parametrize("case", TF_CASES, ids=lambda c: c.id)
def test_terraform_fmt(case: Case, render_case, fmt_command: list[str]) -> None:
    project = render_case(case)
    env = {**os.environ, "CHECKPOINT_DISABLE": "1"}
    proc = run([*fmt_command, "-check", "-recursive", "-diff", "terraform"], cwd=project, env=env)
    assert proc.returncode == 0, f"{' '.join(fmt_command)} -check:\n{proc.stdout}{proc.stderr}"


def _hcl(path: Path) -> dict[str, Any]:
    options = hcl2.SerializationOptions(
        strip_string_quotes=True, explicit_blocks=False, with_comments=False
    )
    with path.open(encoding="utf-8") as fh:
        return hcl2.load(fh, serialization_options=options)


def _blocks(doc: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """{"aws_lambda_function.this": {...}, ...} for resource/data; {"name": {...}} otherwise."""
    out: dict[str, dict[str, Any]] = {}
    for item in doc.get(kind, []):
        for key, value in item.items():
            if kind in {"resource", "data"}:
                for name, body in value.items():
                    out[f"{key}.{name}"] = body
            else:
                out[key] = value
    return out


def _block(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body[name]
    assert isinstance(value, list) and len(value) == 1, f"{name}: {value!r}"
    return value[0]


@pytest.mark.parametrize("case", TF_CASES, ids=lambda c: c.id)
def test_terraform_hcl(case: Case, render_case) -> None:
    project = render_case(case)
    answers = answers_of(project)
    slug = answers["project_slug"]
    tf = project / "terraform"
    docs = {p.name: _hcl(p) for p in sorted(tf.glob("*.tf"))}
    assert set(docs) >= {"main.tf", "variables.tf", "outputs.tf", "versions.tf"}
    merged: dict[str, list] = {}
    for doc in docs.values():
        for kind, items in doc.items():
            merged.setdefault(kind, []).extend(items)

    # versions.tf: Terraform and provider pins.
    terraform = merged["terraform"][0]
    assert terraform["required_version"].startswith(">=")
    aws = terraform["required_providers"][0]["aws"]
    # 6.x: destroying aws_api_gateway_account resets the account setting (v6 upgrade guide), so
    # `terraform destroy` leaves no setting pointing at the deleted role.
    assert aws["source"] == "hashicorp/aws" and aws["version"] == "~> 6.0"

    resources = _blocks(merged, "resource")
    data = _blocks(merged, "data")
    variables = _blocks(merged, "variable")
    locals_ = {k: v for item in merged["locals"] for k, v in item.items()}
    outputs = _blocks(merged, "output")

    assert locals_["name"] == slug
    assert locals_["log_group_name"] == f"/aws/lambda/{slug}"
    for name, variable in variables.items():
        assert variable.get("description"), f"variable {name} has no description"
        assert "type" in variable, f"variable {name} has no type"
    assert variables["aws_region"]["default"] == answers["aws_region"]
    assert variables["memory_size"]["default"] == answers["memory_size"]
    assert variables["timeout"]["default"] == answers["timeout"]
    assert variables["log_retention_days"]["default"] == LOG_RETENTION_DAYS
    assert "default" not in variables["image_tag"], "the image tag must be passed explicitly"
    for name, output in outputs.items():
        assert output.get("description"), f"output {name} has no description"
    assert {"function_name", "function_arn", "ecr_repository_url"} <= set(outputs)

    provider = merged["provider"][0]["aws"]
    assert provider["region"] == "${var.aws_region}"

    ecr = resources["aws_ecr_repository.this"]
    assert ecr["name"] == "${local.name}"
    assert ecr["image_tag_mutability"] == "IMMUTABLE"
    assert _block(ecr, "image_scanning_configuration")["scan_on_push"] is True
    assert _block(ecr, "encryption_configuration")["encryption_type"] in {"KMS", "AES256"}
    lifecycle = resources["aws_ecr_lifecycle_policy.this"]
    assert lifecycle["repository"] == "${aws_ecr_repository.this.name}"
    assert "imageCountMoreThan" in lifecycle["policy"]

    log_group = resources["aws_cloudwatch_log_group.function"]
    assert log_group["name"] == "${local.log_group_name}"
    assert log_group["retention_in_days"] == "${var.log_retention_days}"

    function = resources["aws_lambda_function.this"]
    assert function["function_name"] == "${local.name}"
    assert function["package_type"] == "Image"
    assert function["image_uri"] == "${aws_ecr_repository.this.repository_url}:${var.image_tag}"
    assert function["architectures"] == [answers["architecture"]]
    assert function["memory_size"] == "${var.memory_size}"
    assert function["timeout"] == "${var.timeout}"
    assert function["role"] == "${aws_iam_role.function.arn}"
    assert _block(function, "tracing_config") == {"mode": "Active"}
    assert _block(function, "logging_config") == {
        "log_format": "JSON",
        "application_log_level": "INFO",
        "system_log_level": "INFO",
        "log_group": "${aws_cloudwatch_log_group.function.name}",
    }
    assert _block(function, "environment")["variables"] == {"OTEL_SERVICE_NAME": "${local.name}"}

    # IAM: Lambda-only trust, one inline policy, exact actions per exporter (and trigger).
    role = resources["aws_iam_role.function"]
    assert role["assume_role_policy"] == "${data.aws_iam_policy_document.assume_role.json}"
    assert "managed_policy_arns" not in role
    attachments = {k for k in resources if k.startswith("aws_iam_role_policy_attachment.")}
    expected_attachments = set()
    if answers["trigger"] == "rest-api":
        expected_attachments = {"aws_iam_role_policy_attachment.api_gateway_cloudwatch"}
    assert attachments == expected_attachments
    assert not any(k.startswith("aws_iam_policy.") for k in resources)
    trust = data["aws_iam_policy_document.assume_role"]["statement"]
    assert len(trust) == 1 and trust[0]["actions"] == ["sts:AssumeRole"]
    assert _block(trust[0], "principals") == {
        "type": "Service",
        "identifiers": ["lambda.amazonaws.com"],
    }
    policy = resources["aws_iam_role_policy.function"]
    assert policy["policy"] == "${data.aws_iam_policy_document.function.json}"
    actions: set[str] = set()
    for statement in data["aws_iam_policy_document.function"]["statement"]:
        assert statement.get("effect", "Allow") == "Allow"
        assert not {"not_actions", "not_resources", "condition"} & statement.keys(), statement
        stmt_actions = set(statement["actions"])
        actions |= stmt_actions
        for action in stmt_actions:
            assert "*" not in action and iam_action_exists(action), action
        if stmt_actions & LOG_ACTIONS:
            assert stmt_actions <= LOG_ACTIONS
            assert statement["resources"] == ["${aws_cloudwatch_log_group.function.arn}:*"]
        elif stmt_actions & SQS_ACTIONS:
            assert stmt_actions == SQS_ACTIONS
            assert statement["resources"] == ["${aws_sqs_queue.this.arn}"], "only its own queue"
        else:
            assert all(a.startswith("xray:") for a in stmt_actions), statement
            assert statement["resources"] == ["*"]
    expected = LOG_ACTIONS | XRAY_ACTIONS[answers["trace_exporter"]]
    if answers["trigger"] == "sqs":
        expected |= SQS_ACTIONS
    assert actions == expected
    check_terraform_trigger(answers, resources, data, variables, outputs)


# Terraform resource types each trigger adds to the base (ECR, logs, IAM, Lambda).
TF_BASE_TYPES = {
    "aws_ecr_repository",
    "aws_ecr_lifecycle_policy",
    "aws_cloudwatch_log_group",
    "aws_iam_role",
    "aws_iam_role_policy",
    "aws_lambda_function",
}
TF_TRIGGER_TYPES = {
    "rest-api": {
        "aws_iam_role_policy_attachment",
        "aws_api_gateway_account",
        "aws_api_gateway_rest_api",
        "aws_api_gateway_resource",
        "aws_api_gateway_method",
        "aws_api_gateway_integration",
        "aws_api_gateway_deployment",
        "aws_api_gateway_stage",
        "aws_api_gateway_method_settings",
        "aws_lambda_permission",
    },
    "function-url": {"aws_lambda_function_url"},
    "sqs": {"aws_sqs_queue", "aws_sqs_queue_policy", "aws_lambda_event_source_mapping"},
    "none": set(),
}


def check_terraform_trigger(
    answers: dict[str, Any],
    resources: dict[str, dict[str, Any]],
    data: dict[str, dict[str, Any]],
    variables: dict[str, dict[str, Any]],
    outputs: dict[str, dict[str, Any]],
) -> None:
    trigger = answers["trigger"]
    types = {key.split(".", 1)[0] for key in resources}
    assert types == TF_BASE_TYPES | TF_TRIGGER_TYPES[trigger], sorted(types)
    if trigger == "rest-api":
        method = resources["aws_api_gateway_method.post_greetings"]
        assert (method["http_method"], method["authorization"]) == ("POST", "AWS_IAM")
        assert resources["aws_api_gateway_resource.greetings"]["path_part"] == "greetings"
        integration = resources["aws_api_gateway_integration.post_greetings"]
        assert integration["type"] == "AWS_PROXY"
        assert integration["uri"] == "${aws_lambda_function.this.invoke_arn}"
        assert "credentials" not in integration
        stage = resources["aws_api_gateway_stage.prod"]
        assert stage["stage_name"] == "prod" and stage["xray_tracing_enabled"] is True
        access = _block(stage, "access_log_settings")
        assert access["destination_arn"] == "${aws_cloudwatch_log_group.api_access.arn}"
        fields = json.loads(access["format"])
        assert fields["requestId"] == "$context.requestId"
        assert fields["xrayTraceId"] == "$context.xrayTraceId"
        assert stage["depends_on"] == ["${aws_api_gateway_account.this}"]
        settings = _block(resources["aws_api_gateway_method_settings.all"], "settings")
        assert resources["aws_api_gateway_method_settings.all"]["method_path"] == "*/*"
        assert settings["logging_level"] == "ERROR" and settings["metrics_enabled"] is False
        assert settings["throttling_rate_limit"] == "${var.api_throttling_rate_limit}"
        assert settings["throttling_burst_limit"] == "${var.api_throttling_burst_limit}"
        assert variables["api_throttling_rate_limit"]["default"] == API_THROTTLE["rate"]
        assert variables["api_throttling_burst_limit"]["default"] == API_THROTTLE["burst"]
        permission = resources["aws_lambda_permission.api"]
        assert permission["principal"] == "apigateway.amazonaws.com"
        assert permission["action"] == "lambda:InvokeFunction"
        assert permission["source_arn"] == (
            "${aws_api_gateway_rest_api.this.execution_arn}/"
            "${aws_api_gateway_stage.prod.stage_name}/POST/greetings"
        ), "only the prod stage may invoke the function"
        account = resources["aws_api_gateway_account.this"]
        assert account["cloudwatch_role_arn"] == "${aws_iam_role.api_gateway_cloudwatch.arn}"
        attachment = resources["aws_iam_role_policy_attachment.api_gateway_cloudwatch"]
        assert attachment["policy_arn"].endswith(APIGW_LOGS_POLICY.split("::", 1)[1])
        trust = data["aws_iam_policy_document.api_gateway_assume_role"]["statement"]
        assert _block(trust[0], "principals")["identifiers"] == ["apigateway.amazonaws.com"]
        log_group = resources["aws_cloudwatch_log_group.api_access"]
        assert log_group["retention_in_days"] == "${var.log_retention_days}"
        assert "api_url" in outputs
    elif trigger == "function-url":
        url = resources["aws_lambda_function_url.this"]
        assert url["authorization_type"] == "AWS_IAM"
        assert url["function_name"] == "${aws_lambda_function.this.function_name}"
        assert "function_url" in outputs
    elif trigger == "sqs":
        queue, dead_letter = resources["aws_sqs_queue.this"], resources["aws_sqs_queue.dead_letter"]
        assert queue["name"] == "${local.name}" and dead_letter["name"] == "${local.name}-dlq"
        assert queue["sqs_managed_sse_enabled"] is True
        assert dead_letter["sqs_managed_sse_enabled"] is True
        assert queue["visibility_timeout_seconds"] == "${min(var.timeout * 6, 43200)}"
        assert "aws_sqs_queue.dead_letter.arn" in queue["redrive_policy"]
        assert "var.sqs_max_receive_count" in queue["redrive_policy"]
        assert variables["sqs_max_receive_count"]["default"] == SQS_MAX_RECEIVE_COUNT
        mapping = resources["aws_lambda_event_source_mapping.queue"]
        assert mapping["event_source_arn"] == "${aws_sqs_queue.this.arn}"
        assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
        assert mapping["batch_size"] == 10
        tls = data["aws_iam_policy_document.queue_requires_tls"]
        [statement] = tls["statement"]
        assert statement["effect"] == "Deny" and statement["actions"] == ["sqs:*"]
        assert _block(statement, "condition")["variable"] == "aws:SecureTransport"
        for resource, key in (("this", "queue"), ("dead_letter", "dead_letter")):
            policy = resources[f"aws_sqs_queue_policy.{resource}"]["policy"]
            assert f'queue_requires_tls["{key}"]' in policy, policy
        assert {"queue_url", "dead_letter_queue_url"} <= set(outputs)


@pytest.fixture(scope="session")
def checkov() -> Path:
    try:
        return venv_bin(tool_venv("checkov", CHECKOV_REQUIREMENTS), "checkov")
    except ToolEnvError as exc:
        pytest.fail(str(exc), pytrace=False)


_SKIP_COMMENT = re.compile(r"#\s*checkov:skip=(CKV2?_[A-Z0-9_]+):(.*)")


def run_checkov(checkov: Path, target: list[str], cwd: Path) -> tuple[list[str], set[str], int]:
    """checkov's failures (check and resource), skipped check ids and number of passed checks."""
    proc = run(
        [
            str(checkov),
            *target,
            "--skip-download",  # no calls to the vendor's API
            "--output",
            "json",
        ],
        cwd=cwd,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
        timeout=600,
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"checkov output is not JSON (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}"
        )
    reports = report if isinstance(report, list) else [report]
    results = [r.get("results", {}) for r in reports]
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for r in results
        for c in r.get("failed_checks", [])
    ]
    skipped = {c["check_id"] for r in results for c in r.get("skipped_checks", [])}
    passed = sum(len(r.get("passed_checks", [])) for r in results)
    if not failed:
        assert proc.returncode == 0, proc.stderr
    return failed, skipped, passed


def check_cfn_checkov(templates: list[Path], answers: dict[str, Any], checkov: Path) -> None:
    """checkov on CloudFormation templates: no failure, and exactly the expected suppressions,
    each on its resource's Metadata with a reason, each matching a real finding."""
    expected = checkov_skips(answers["iac"], answers["trigger"])
    reasons: dict[str, list[str]] = {}
    for path in templates:
        template, matches = decode(str(path))
        assert not matches, matches
        for resource in template["Resources"].values():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                assert set(skip) == {"id", "comment"}, skip
                reasons.setdefault(skip["id"], []).append(skip["comment"])
    assert set(reasons) == expected
    assert all(len(r.strip()) > 20 for rs in reasons.values() for r in rs), reasons
    target = ["--framework", "cloudformation"]
    for path in templates:
        target += ["--file", str(path)]
    failed, skipped, passed = run_checkov(checkov, target, templates[0].parent)
    assert not failed, "checkov failures:\n" + "\n".join(failed)
    assert skipped == expected, "each suppression must match a real finding"
    assert passed > 12, "checkov checked suspiciously little"


@pytest.mark.parametrize("case", SAM_CASES, ids=lambda c: c.id)
def test_sam_checkov(case: Case, render_case, checkov: Path) -> None:
    project = render_case(case)
    templates = [project / "template.yaml", project / "ecr.yaml"]
    check_cfn_checkov(templates, answers_of(project), checkov)


@pytest.mark.parametrize("case", TF_CASES, ids=lambda c: c.id)
def test_terraform_checkov(case: Case, render_case, checkov: Path) -> None:
    project = render_case(case)
    tf = project / "terraform"

    # Every inline skip names a known check and gives a reason.
    skips: dict[str, str] = {}
    for path in tf.glob("*.tf"):
        for match in _SKIP_COMMENT.finditer(path.read_text(encoding="utf-8")):
            skips[match.group(1)] = match.group(2).strip()
    expected = checkov_skips("terraform", answers_of(project)["trigger"])
    assert set(skips) == expected
    assert all(len(reason) > 20 for reason in skips.values()), skips

    target = ["--directory", str(tf), "--framework", "terraform"]
    failed, skipped, passed = run_checkov(checkov, target, project)
    assert not failed, "checkov failures:\n" + "\n".join(failed)
    assert skipped == expected, "each inline skip must match a real finding"
    assert passed > 20, "checkov checked suspiciously little"


# ------------------------------------------------------------------- description escaping

# Quotes, a backslash, HCL template sequences, HTML-ish and non-ASCII characters: each format
# (YAML, Python, HCL) must carry the description through unchanged.
TRICKY_DESCRIPTION = 'Say "hi" \\ to ${var.x} & %{ if } <b> it\'s 注文 ü'
TRICKY_CASES = [
    Case(iac, "awsxray", "x86_64", {"description": TRICKY_DESCRIPTION})
    for iac in ("sam", "cdk", "terraform")
]


@pytest.mark.parametrize("case", TRICKY_CASES, ids=lambda c: f"{c.iac}-tricky-description")
def test_description_escaping(case: Case, render_case) -> None:
    project = render_case(case)
    if case.iac == "sam":
        template, matches = decode(str(project / "template.yaml"))
        assert not matches, matches
        _, function = _one(template, "AWS::Serverless::Function")
        assert template["Description"] == TRICKY_DESCRIPTION
        assert function["Properties"]["Description"] == TRICKY_DESCRIPTION
        findings = cfn_lint(project / "template.yaml", answers_of(project)["aws_region"])
        assert not findings, findings
    elif case.iac == "cdk":
        # The app reads every answer-dependent value from infra/config.json (JSON-escaped), so
        # its Python stays static and ruff-clean whatever the answers.
        config = json.loads((project / "infra" / "config.json").read_text(encoding="utf-8"))
        assert config["description"] == TRICKY_DESCRIPTION
    else:
        locals_ = _hcl(project / "terraform" / "main.tf")["locals"][0]
        # python-hcl2 keeps HCL's template escapes ($${, %%{) as written.
        value = locals_["description"].replace("$${", "${").replace("%%{", "%{")
        assert value == TRICKY_DESCRIPTION


# The files this part of the template writes, per tool (and, for Terraform, per trigger).
IAC_FILES = {
    "sam": ["template.yaml", "ecr.yaml", "samconfig.toml"],
    "cdk": [
        "cdk.json",
        "requirements-cdk.txt",
        "infra/app.py",
        "infra/repository.py",
        "infra/stack.py",
        "infra/config.json",
    ],
    "terraform": [
        "terraform/versions.tf",
        "terraform/variables.tf",
        "terraform/main.tf",
        "terraform/outputs.tf",
        "terraform/.gitignore",
    ],
}
TF_TRIGGER_FILES = {
    "rest-api": ["terraform/api.tf"],
    "function-url": ["terraform/function_url.tf"],
    "sqs": ["terraform/queue.tf"],
    "none": [],
}


def iac_files(case: Case, project: Path) -> list[str]:
    files = list(IAC_FILES[case.iac])
    if case.iac == "terraform":
        trigger = answers_of(project)["trigger"]
        files += TF_TRIGGER_FILES[trigger]
        present = sorted(str(p.relative_to(project)) for p in (project / "terraform").glob("*.tf"))
        assert present == sorted(f for f in files if f.endswith(".tf")), "one file per trigger"
    return files


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.id)
def test_iac_files_are_hook_clean(case: Case, render_case) -> None:
    """The generated project's pre-commit hooks (end-of-file-fixer, trailing-whitespace, ruff)
    must find nothing to change in the deployment files."""
    project = render_case(case)
    for rel in [*iac_files(case, project), "deploy.mk"]:
        text = (project / rel).read_text(encoding="utf-8")
        assert text.endswith("\n") and not text.endswith("\n\n"), f"{rel}: end of file"
        for number, line in enumerate(text.splitlines(), 1):
            assert line == line.rstrip(), f"{rel}:{number}: trailing whitespace"
    # cdk.json parsing and ruff on infra/ are test_render.py's (all files, all Python).


# ------------------------------------------------------------------------------- deploy.mk


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.id)
def test_deploy_mk(case: Case, render_case, tmp_path: Path) -> None:
    project = render_case(case)
    answers = answers_of(project)
    text = (project / "deploy.mk").read_text(encoding="utf-8")

    # Make only accepts recipe lines that start with a TAB (deploy.mk indents nothing else).
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip() and line[:1].isspace():
            assert line.startswith("\t"), f"deploy.mk:{number}: indented with spaces: {line!r}"
    assert f"AWS_REGION ?= {answers['aws_region']}" in text

    if shutil.which("make") is None:
        missing_tool("make is not installed")
    # Dry runs against a stand-in for the main Makefile's `image` target.
    stub = tmp_path / "Makefile"
    stub.write_text(f"image:\n\t@echo BUILD-IMAGE\ninclude {project / 'deploy.mk'}\n")
    env = {k: v for k, v in os.environ.items() if k != "AWS_REGION"}

    def dry_run(*targets: str) -> str:
        proc = run(["make", "-n", "-f", str(stub), *targets], cwd=project, env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    deploy = dry_run("deploy")
    assert "BUILD-IMAGE" in deploy, "deploy must build the image first"
    assert answers["aws_region"] in deploy
    tool = {"sam": "sam deploy", "cdk": "aws-cdk@", "terraform": "terraform -chdir=terraform apply"}
    assert tool[answers["iac"]] in deploy, deploy
    # The repository first, then the push (content-hash tag, skipped when there), then the deploy.
    slug = answers["project_slug"]
    region = answers["aws_region"]
    create = {
        "sam": f"aws cloudformation deploy --region {region} --stack-name {slug}-ecr",
        "cdk": f"deploy {slug}-ecr",
        "terraform": "-target=aws_ecr_repository.this",
    }[answers["iac"]]
    order = [deploy.index(create), deploy.index("docker push"), deploy.rindex(tool[answers["iac"]])]
    assert order == sorted(order), deploy
    assert "describe-images" in deploy, "an image already in ECR is not pushed again"
    if answers["iac"] == "sam":
        # template.yaml itself, not a `sam build` output SAM would push under its own tag.
        assert "--template-file template.yaml" in deploy and "ImageUri=" in deploy, deploy
        assert "sam build" not in deploy and "resolve-image-repos" not in deploy, deploy
    elif answers["iac"] == "cdk":
        assert "--exclusively" in deploy and "--context image_tag=" in deploy, deploy
    destroy = dry_run("destroy")
    assert answers["aws_region"] in destroy and "BUILD-IMAGE" not in destroy, destroy
    if answers["iac"] != "terraform":  # the repository's stack goes too, after the function's
        assert destroy.index(f"{slug}-ecr") > destroy.index(slug), destroy
    extra = {"cdk": "synth", "terraform": "plan"}.get(answers["iac"])
    if extra:
        dry_run(extra)
