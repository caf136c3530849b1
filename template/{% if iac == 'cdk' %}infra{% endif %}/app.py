"""CDK app: two stacks, checked by cdk-nag's AwsSolutions pack on every synth.

- `<slug>-ecr`: the service's ECR repository (scan on push, immutable tags, lifecycle policy);
- `<slug>`: the function and its trigger, running the image tagged `image_tag` (context) there.

`make deploy` deploys the repository, pushes the image `make image` built under its content hash
and deploys the service stack with `--context image_tag=<hash>`. No CDK asset: nothing is built
or pushed by the CDK CLI, and nothing goes to the bootstrap stack's repository.

Run through the CDK CLI (`make deploy`, `make synth`; cdk.json points here) or directly:
`CDK_OUTDIR=cdk.out python infra/app.py` synthesizes offline, without Docker. The service's
settings (names, architecture, memory, timeout, region, exporter) are in infra/config.json,
written by the Copier template.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks
from repository import RepositoryStack
from stack import ServiceStack

INFRA = Path(__file__).resolve().parent
config = json.loads((INFRA / "config.json").read_text(encoding="utf-8"))

app = App()
# The CLI sets CDK_DEFAULT_ACCOUNT from your credentials; `make` passes AWS_REGION.
env = Environment(
    account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
    region=os.environ.get("AWS_REGION") or config["region"],
)
repository = RepositoryStack(app, f"{config['stack_name']}-ecr", config=config, env=env)
service = ServiceStack(
    app,
    config["stack_name"],
    config=config,
    image_tag=app.node.try_get_context("image_tag"),
    env=env,
)
service.add_dependency(repository, "the function's image is pushed to the repository first")
# cdk-nag 3 runs as a policy-validation plugin: any unacknowledged finding fails the synth and is
# listed in cdk.out/validation-report.json. (The cdk-nag 2 form, Aspects.of(app).add(...),
# crashes with cdk-nag 3.)
Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
app.synth()
