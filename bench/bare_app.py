"""The template's handler minus OpenTelemetry: the same event handling (an API Gateway
proxy event or a plain one), STS call, log lines (the runtime's JSON log format) and reply."""

import json
import logging
import os

import boto3

_sts = None
logger = logging.getLogger(__name__)


def lambda_handler(event, context):
    global _sts
    http = isinstance(event, dict) and "requestContext" in event
    if http:
        event = json.loads(event.get("body") or "{}")
    if not isinstance(event, dict):
        return {"statusCode": 400, "body": json.dumps({"error": "expected a JSON object"})}
    name = event.get("name", "world")
    if _sts is None:
        _sts = boto3.client("sts", region_name=os.environ.get("AWS_REGION"))
    account = _sts.get_caller_identity()["Account"]
    logger.info("greeted %s", name)
    body = json.dumps({"message": f"Hello, {name}!", "account": account})
    if not http:
        return {"statusCode": 200, "body": body}
    logger.info("POST answered 200")
    headers = {"Content-Type": "application/json"}
    return {"statusCode": 200, "headers": headers, "body": body, "isBase64Encoded": False}
