"""CDK app: one stack, checked by cdk-nag's AwsSolutions pack on every synth.

Run through the CDK CLI (`make deploy`, `make synth`; cdk.json points here) or directly:
`CDK_OUTDIR=cdk.out python infra/app.py` synthesizes offline, without Docker (the image asset is
only staged; `cdk deploy` builds and pushes it). The service's settings (names, architecture,
memory, timeout, region, exporter) are in infra/config.json, written by the Copier template.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks
from stack import ServiceStack

INFRA = Path(__file__).resolve().parent
config = json.loads((INFRA / "config.json").read_text(encoding="utf-8"))

app = App()
ServiceStack(
    app,
    config["stack_name"],
    config=config,
    project_root=INFRA.parent,
    # The CLI sets CDK_DEFAULT_ACCOUNT from your credentials; `make` passes AWS_REGION.
    env=Environment(
        account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
        region=os.environ.get("AWS_REGION") or config["region"],
    ),
)
# cdk-nag 3 runs as a policy-validation plugin: any unacknowledged finding fails the synth and is
# listed in cdk.out/validation-report.json. (The cdk-nag 2 form, Aspects.of(app).add(...),
# crashes with cdk-nag 3.)
Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
app.synth()
