"""The service's stack: a container-image Lambda function traced with OpenTelemetry into X-Ray,
and its trigger (config.json "trigger"): an API Gateway REST API, a function URL, an SQS queue,
or none."""

from __future__ import annotations

from typing import Any

from aws_cdk import (
    Acknowledgment,
    Annotations,
    CfnOutput,
    CfnResource,
    Duration,
    RemovalPolicy,
    Stack,
    Validations,
)
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

TRIGGERS = ("rest-api", "function-url", "sqs", "none")
# What the SQS event source mapping polls with (the function's role), on its queue only.
SQS_CONSUMER_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]

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

ARCHITECTURES = {"x86_64": lambda_.Architecture.X86_64, "arm64": lambda_.Architecture.ARM_64}
# Synth without `--context image_tag=...` (`make synth`, tests): the template is complete, but a
# deploy of it would fail on the missing image, so the synth warns.
NO_IMAGE_TAG = "image-tag-not-set"

# The checkov findings this stack accepts, with their reasons: checkov reads them from each
# synthesized resource's Metadata (checkov: skip), as it does in a hand-written template.
CHECKOV_LOG_GROUP_KMS = (
    "CKV_AWS_158",
    "CloudWatch Logs already encrypts log data at rest; a customer managed KMS key would add a "
    "key, its policy and its cost for no gain in this template.",
)
CHECKOV_FUNCTION = [
    (
        "CKV_AWS_115",
        "No reserved concurrency by default: reserving it takes capacity from the account's "
        "shared pool; set reserved_concurrent_executions when you know the service's peak.",
    ),
    (
        "CKV_AWS_116",
        "A function's dead-letter queue only catches asynchronous invocations, and none is "
        "wired: API Gateway and function URLs invoke synchronously (callers get errors back), an "
        "SQS event source mapping does too (failed messages go to the queue's own dead-letter "
        "queue).",
    ),
    (
        "CKV_AWS_117",
        "Not in a VPC: the function reaches only public AWS endpoints (STS, X-Ray); attach "
        "subnets and security groups when it needs private resources.",
    ),
    (
        "CKV_AWS_173",
        "The only environment variable is OTEL_SERVICE_NAME, which is not secret; Lambda "
        "encrypts environment variables at rest with an AWS managed key anyway.",
    ),
]
CHECKOV_SQS_SSE = (
    "CKV_AWS_27",
    "A false positive: the queue is encrypted with SSE-SQS (SqsManagedSseEnabled: true), which "
    "this check does not recognise; it only accepts a KMS key (KmsMasterKeyId).",
)
CHECKOV_STAGE_CACHE = (
    "CKV_AWS_120",
    "No response cache: every POST /greetings is answered fresh, and a cache cluster is billed "
    "by the hour.",
)


def checkov_skip(construct: IConstruct, *skips: tuple[str, str]) -> None:
    """Record checkov suppressions (id, reason) on the construct's CloudFormation resource."""
    resource = construct.node.default_child if construct.node.default_child else construct
    assert isinstance(resource, CfnResource), resource
    resource.add_metadata("checkov", {"skip": [{"id": i, "comment": c} for i, c in skips]})


class ServiceStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: dict[str, Any],
        image_tag: str | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, description=config["description"], **kwargs)
        name = config["function_name"]
        trigger = config["trigger"]
        if trigger not in TRIGGERS:
            raise ValueError(f"infra/config.json: trigger {trigger!r} is not one of {TRIGGERS}")
        xray_actions = XRAY_ACTIONS[config["trace_exporter"]]
        architecture = ARCHITECTURES[config["architecture"]]
        if not image_tag:
            Annotations.of(self).add_warning_v2(
                "image-tag-not-set",
                "No --context image_tag=...: the function points at a tag that does not exist. "
                "`make deploy` pushes the image and passes its tag.",
            )

        # Created here, with a retention, so the role needs no logs:CreateLogGroup.
        log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=f"/aws/lambda/{name}",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        checkov_skip(log_group, CHECKOV_LOG_GROUP_KMS)
        queue = self._queues(name, config) if trigger == "sqs" else None

        policies = {
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
                    iam.PolicyStatement(sid="WriteTraces", actions=xray_actions, resources=["*"])
                ]
            ),
        }
        if queue is not None:
            # SSE-SQS encryption needs no KMS permission.
            policies["sqs"] = iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(
                        sid="ConsumeOwnQueue",
                        actions=SQS_CONSUMER_ACTIONS,
                        resources=[queue.queue_arn],
                    )
                ]
            )
        # Every permission is written out here. The function gets an immutable view of the role,
        # so CDK adds nothing behind our back (no AWSLambdaBasicExecutionRole, no extra grants).
        role = iam.Role(
            self,
            "FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of the {name} function (own logs, X-Ray writes only)",
            inline_policies=policies,
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

        # The repository of the `<slug>-ecr` stack, by name (no cross-stack export to pin it);
        # `make image` builds the image for the function's architecture, `make deploy` pushes it.
        repository = ecr.Repository.from_repository_name(self, "Repository", name)
        function = lambda_.DockerImageFunction(
            self,
            "Function",
            function_name=name,
            description=config["description"],
            code=lambda_.DockerImageCode.from_ecr(
                repository, tag_or_digest=image_tag or NO_IMAGE_TAG
            ),
            architecture=architecture,
            memory_size=config["memory_size"],
            timeout=Duration.seconds(config["timeout"]),
            tracing=lambda_.Tracing.ACTIVE,
            role=role.without_policy_updates(),
            log_group=log_group,
            # Lambda's JSON log format: the runtime writes each log record as a JSON object with
            # its request id; the handler adds the X-Ray trace id (<package>/logs.py).
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.INFO,
            environment={"OTEL_SERVICE_NAME": name},
        )
        checkov_skip(function, *CHECKOV_FUNCTION)

        if trigger == "rest-api":
            self._rest_api(name, config, function)
        elif trigger == "function-url":
            # Callers sign requests with SigV4 (service "lambda") and need lambda:InvokeFunctionUrl
            # and (URLs created since October 2025) lambda:InvokeFunction on this function; no
            # resource policy is created.
            url = function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.AWS_IAM)
            CfnOutput(self, "FunctionUrl", value=url.url, description="The function URL")
        elif queue is not None:
            function.add_event_source(
                event_sources.SqsEventSource(
                    queue,
                    batch_size=10,
                    # The handler answers with batchItemFailures: only failed messages return.
                    report_batch_item_failures=True,
                )
            )
            CfnOutput(self, "QueueUrl", value=queue.queue_url, description="The function's queue")

    def _queues(self, name: str, config: dict[str, Any]) -> sqs.Queue:
        """The queue feeding the function and its dead-letter queue: SSE-SQS, TLS only."""
        dead_letters = sqs.Queue(
            self,
            "DeadLetterQueue",
            queue_name=f"{name}-dlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            # Messages that failed maxReceiveCount times stay 14 days for inspection or redrive.
            retention_period=Duration.days(14),
        )
        checkov_skip(dead_letters, CHECKOV_SQS_SSE)
        queue = sqs.Queue(
            self,
            "Queue",
            queue_name=name,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            # Six times the function timeout (AWS's advice for event source mappings).
            visibility_timeout=Duration.seconds(config["sqs_visibility_timeout"]),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=dead_letters, max_receive_count=config["sqs_max_receive_count"]
            ),
        )
        checkov_skip(queue, CHECKOV_SQS_SSE)
        return queue

    def _rest_api(
        self, name: str, config: dict[str, Any], function: lambda_.IFunction
    ) -> apigateway.RestApi:
        """POST /greetings with IAM authorization, X-Ray tracing on the stage (API Gateway's
        segment parents the function's), JSON access logs, error execution logs, a throttle."""
        access_logs = logs.LogGroup(
            self,
            "ApiAccessLogs",
            log_group_name=f"/aws/apigateway/{name}/access",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        checkov_skip(access_logs, CHECKOV_LOG_GROUP_KMS)
        api = apigateway.RestApi(
            self,
            "Api",
            rest_api_name=name,
            description=config["description"],
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            # API Gateway logs to CloudWatch with ONE role per account and region, shared by
            # every REST API there; without it a stage with logging fails to deploy. CDK creates
            # it with the AWS managed policy AWS documents for it and keeps it when the stack is
            # deleted (other APIs may log through it). If your account already has one managed
            # elsewhere, set cloud_watch_role=False.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigateway.StageOptions(
                stage_name="prod",
                tracing_enabled=True,
                access_log_destination=apigateway.LogGroupLogDestination(access_logs),
                access_log_format=apigateway.AccessLogFormat.custom(
                    config["api_access_log_format"]
                ),
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=False,
                throttling_rate_limit=config["api_throttle_rate_limit"],
                throttling_burst_limit=config["api_throttle_burst_limit"],
            ),
            default_method_options=apigateway.MethodOptions(
                authorization_type=apigateway.AuthorizationType.IAM
            ),
        )
        checkov_skip(api.deployment_stage, CHECKOV_STAGE_CACHE)
        greetings = api.root.add_resource("greetings")
        # One permission for API Gateway, scoped to this method on the prod stage (CDK's methodArn
        # names the API's deployment stage); none for the console's test invocations.
        greetings.add_method(
            "POST", apigateway.LambdaIntegration(function, allow_test_invoke=False)
        )
        Validations.of(api).acknowledge(
            Acknowledgment(
                id="AwsSolutions-APIG2",
                reason=(
                    "Requests are validated by the handler, which answers 400 with the reason "
                    "(see <package>/http_api.py and service.py); an API Gateway request "
                    "validator would need a model duplicating those rules."
                ),
            ),
            Acknowledgment(
                id="AwsSolutions-APIG3",
                reason=(
                    "No AWS WAF web ACL by default: every method requires IAM (SigV4) "
                    "authorization and the stage is throttled; associate a web ACL when the "
                    "API is exposed to untrusted callers at scale."
                ),
            ),
            Acknowledgment(
                id=(
                    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AmazonAPIGatewayPushToCloudWatchLogs]"
                ),
                reason=(
                    "API Gateway's account-level CloudWatch role serves every REST API in the "
                    "account and region, so it must be able to write to any of their log groups; "
                    "AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for it."
                ),
            ),
            Acknowledgment(
                id="AwsSolutions-COG4",
                reason=(
                    "The API uses IAM authorization (SigV4-signed callers with "
                    "execute-api:Invoke), not a Cognito user pool authorizer."
                ),
            ),
        )
        CfnOutput(self, "ApiUrl", value=api.url_for_path("/greetings"), description="POST here")
        return api
