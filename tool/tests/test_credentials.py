"""Local runs hand the function and SAM placeholder credentials only, whatever this machine has:
every variable and file botocore's credential chain reads is left out or switched off."""

from __future__ import annotations

from lambda_otel_xray.local.sam import sam_environment
from lambda_otel_xray.local.session import lambda_env
from lambda_otel_xray.local.standins import FAKE_ACCESS_KEY, FAKE_SECRET_KEY
from lambda_otel_xray.service import Service

# Every source of credentials botocore's default chain consults, as a host might have them.
HOST = {
    "AWS_ACCESS_KEY_ID": "AKIAREALKEY",
    "AWS_SECRET_ACCESS_KEY": "real-secret",
    "AWS_SESSION_TOKEN": "real-token",
    "AWS_SECURITY_TOKEN": "real-token",
    "AWS_PROFILE": "prod",
    "AWS_DEFAULT_PROFILE": "prod",
    "AWS_CONFIG_FILE": "/home/dev/.aws/config",
    "AWS_SHARED_CREDENTIALS_FILE": "/home/dev/.aws/credentials",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN": "token",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/var/run/token",
    "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/secrets/eks/token",
    "AWS_ROLE_ARN": "arn:aws:iam::111122223333:role/prod",
    "AWS_ROLE_SESSION_NAME": "dev",
    "AWS_SSO_SESSION": "corp",
    "AWS_EC2_METADATA_DISABLED": "false",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://169.254.169.254",
    "HOME": "/home/dev",
    "PATH": "/usr/bin",
}
SWITCHED_OFF = {
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def test_sam_gets_no_aws_setting_of_this_machine() -> None:
    env = sam_environment("eu-west-1", HOST)
    aws = {k: v for k, v in env.items() if k.startswith("AWS_")}
    assert aws == {**SWITCHED_OFF, "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"}
    assert env["PATH"] == "/usr/bin" and env["HOME"] == "/home/dev"


def test_the_function_gets_placeholders_and_nothing_else(service_dir) -> None:
    started = {"moto": "http://127.0.0.1:1", "relay": "127.0.0.1:2", "collector_env": {}}
    env = lambda_env(Service.load(service_dir), started, 10)
    assert env["AWS_ACCESS_KEY_ID"] == FAKE_ACCESS_KEY
    assert env["AWS_SECRET_ACCESS_KEY"] == FAKE_SECRET_KEY
    for key, value in SWITCHED_OFF.items():
        assert env[key] == value
    for key in HOST:
        if key not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            assert key not in env or env[key] == SWITCHED_OFF.get(key), key
