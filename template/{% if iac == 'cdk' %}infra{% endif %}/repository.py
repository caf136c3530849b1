"""The service's ECR repository, in its own stack: the image must be pushed to it before the
function's stack can be deployed (`make deploy` does both, in that order)."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_ecr as ecr
from constructs import Construct

# Images the lifecycle policy keeps; older ones expire (as in the Terraform variant).
KEEP_IMAGES = 10


class RepositoryStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: dict[str, Any], **kwargs: Any
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"ECR repository of {config['function_name']} (scan on push, immutable "
            "tags, lifecycle policy)",
            **kwargs,
        )
        repository = ecr.Repository(
            self,
            "Repository",
            repository_name=config["function_name"],
            # A tag names one image forever: what the function runs cannot change under its URI.
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            image_scan_on_push=True,
            # KMS with the AWS managed key (aws/ecr): no key to create, rotate or pay for.
            encryption=ecr.RepositoryEncryption.KMS,
            lifecycle_rules=[
                ecr.LifecycleRule(
                    description=f"Keep the {KEEP_IMAGES} most recent images",
                    max_image_count=KEEP_IMAGES,
                )
            ],
            # The images can be rebuilt from source: deleting the stack deletes them too.
            removal_policy=RemovalPolicy.DESTROY,
            empty_on_delete=True,
        )
        CfnOutput(self, "RepositoryUri", value=repository.repository_uri)
