"""The service's stack: a container-image Lambda function traced with OpenTelemetry into X-Ray."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.aws_ecr_assets import Platform
from constructs import Construct

# Which X-Ray actions the execution role gets, per trace exporter. None of them supports
# resource-level permissions (the Service Authorization Reference for AWS X-Ray,
# list_awsx-ray.html, gives them no resource type), so "*" is their only valid Resource.
XRAY_ACTIONS = {
    # The collector's awsxray exporter calls PutTraceSegments (and PutTelemetryRecords); Lambda's
    # own active-tracing segments use the same two actions.
    "awsxray": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
    # The collector's otlp_http exporter posts to https://xray.<region>.amazonaws.com/v1/traces:
    # xray:PutSpans "Grants permission to upload OpenTelemetry spans to AWS X-Ray" (linked to the
    # CloudWatch OTLP endpoint page) and xray:PutSpansForIndexing (permission-only) "Grants
    # permission to upload spans to AWS X-Ray to be indexed" (Transaction Search). Lambda's own
    # active-tracing segments still need PutTraceSegments/PutTelemetryRecords.
    "xray-otlp": [
        "xray:PutSpans",
        "xray:PutSpansForIndexing",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    ],
}

ARCHITECTURES = {
    "x86_64": (lambda_.Architecture.X86_64, Platform.LINUX_AMD64),
    "arm64": (lambda_.Architecture.ARM_64, Platform.LINUX_ARM64),
}

# Kept out of the image's build context (the project's .dockerignore applies as well).
DOCKER_EXCLUDES = [
    ".git",
    ".venv",
    ".venv-cdk",
    ".cache",
    ".pytest_cache",
    ".ruff_cache",
    "**/__pycache__",
    "cdk.out",
    "node_modules",
]


class ServiceStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: dict[str, Any],
        project_root: Path,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, description=config["description"], **kwargs)
        name = config["function_name"]
        xray_actions = XRAY_ACTIONS[config["trace_exporter"]]
        architecture, platform = ARCHITECTURES[config["architecture"]]

        # Created here, with a retention, so the role needs no logs:CreateLogGroup.
        log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=f"/aws/lambda/{name}",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )

        # Every permission is written out here. The function gets an immutable view of the role,
        # so CDK adds nothing behind our back (no AWSLambdaBasicExecutionRole, no extra grants).
        role = iam.Role(
            self,
            "FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of the {name} function (own logs, X-Ray writes only)",
            inline_policies={
                "logs": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            sid="WriteOwnLogs",
                            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                            # The log group's ARN ends in ":*": the group and its streams.
                            resources=[log_group.log_group_arn],
                        )
                    ]
                ),
                "xray": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            sid="WriteTraces", actions=xray_actions, resources=["*"]
                        )
                    ]
                ),
            },
        )
        Validations.of(role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason=(
                    f"X-Ray's write actions ({', '.join(xray_actions)}) support no resource-level "
                    "permissions: the Service Authorization Reference for AWS X-Ray lists no "
                    "resource type for them, so '*' is the only valid Resource."
                ),
            )
        )

        lambda_.DockerImageFunction(
            self,
            "Function",
            function_name=name,
            description=config["description"],
            # Staged at synth (no Docker needed); `cdk deploy` builds it for the function's
            # architecture and pushes it to the bootstrap ECR repository.
            code=lambda_.DockerImageCode.from_image_asset(
                str(project_root),
                file="Dockerfile",
                platform=platform,
                exclude=DOCKER_EXCLUDES,
            ),
            architecture=architecture,
            memory_size=config["memory_size"],
            timeout=Duration.seconds(config["timeout"]),
            tracing=lambda_.Tracing.ACTIVE,
            role=role.without_policy_updates(),
            log_group=log_group,
            environment={"OTEL_SERVICE_NAME": name},
        )
