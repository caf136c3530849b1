"""What the Lambda Python base image provides, as the sandbox runner reproduces it.

The sandbox runner builds its /var/runtime from this (tools.py): the runtime starts the way the
base image starts it, through AWS_LAMBDA_EXEC_WRAPPER. The template's own tests build their
stand-ins of the base image from the same pins.
"""

from __future__ import annotations

# The Runtime Interface Emulator, built from its Go module. The module proxy serves it by commit
# (pseudo-version); change both together.
RIE_MODULE = "github.com/aws/aws-lambda-runtime-interface-emulator"
RIE_PACKAGE = f"{RIE_MODULE}/cmd/aws-lambda-rie"
RIE_VERSION = "v0.0.0-20261030222936-bef5c4ba774d"

# What the base image has in /var/runtime: the runtime interface client and boto3.
RUNTIME_REQUIREMENTS = ("awslambdaric==4.2.2", "boto3==1.44.8")

# Where the base image's RIE lives and what its entrypoint starts.
RIE_PATH = "/usr/local/bin/aws-lambda-rie"
BOOTSTRAP_PATH = "/var/runtime/bootstrap"
# The invocation endpoint RIE serves (port 8080 in the image).
INVOKE_PATH = "/2015-03-31/functions/function/invocations"

_BOOTSTRAP = """#!/bin/sh
# /var/runtime/bootstrap: starts the runtime interface client with the handler in _HANDLER,
# through AWS_LAMBDA_EXEC_WRAPPER when that is set (the wrapper gets the runtime's command line
# as its arguments), as the Lambda Python base image does.
export AWS_EXECUTION_ENV="${{AWS_EXECUTION_ENV:-AWS_Lambda_python{version}}}"
set -- {python} /var/runtime/bootstrap.py
if [ -n "${{AWS_LAMBDA_EXEC_WRAPPER:-}}" ]; then
  if [ ! -f "$AWS_LAMBDA_EXEC_WRAPPER" ]; then
    echo "$AWS_LAMBDA_EXEC_WRAPPER: does not exist" >&2
    exit 127
  fi
  if [ ! -x "$AWS_LAMBDA_EXEC_WRAPPER" ]; then
    echo "$AWS_LAMBDA_EXEC_WRAPPER: is not an executable" >&2
    exit 126
  fi
  exec "$AWS_LAMBDA_EXEC_WRAPPER" "$@"
fi
exec "$@"
"""

BOOTSTRAP_PY = '''"""/var/runtime/bootstrap.py: the runtime interface client for _HANDLER.

The handler is read once AWS_LAMBDA_EXEC_WRAPPER has run (wrappers may swap it); /var/task goes
first on sys.path, /var/runtime (awslambdaric, boto3) after the function's own packages.
"""

import os
import sys

sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", "/var/task"))
sys.path.append(os.environ.get("LAMBDA_RUNTIME_DIR", "/var/runtime"))

from awslambdaric.__main__ import main  # noqa: E402

main([sys.argv[0], os.environ["_HANDLER"]])
'''


def bootstrap(python: str, version: str) -> str:
    """/var/runtime/bootstrap for the interpreter ``python`` (Python ``version``)."""
    return _BOOTSTRAP.format(python=python, version=version)


# The exec wrapper a local run puts in front of the image's own (AWS_LAMBDA_EXEC_WRAPPER). RIE
# takes an invocation's X-Ray trace header (X-Amzn-Trace-Id) but never hands it to the runtime,
# where Lambda passes it in Lambda-Runtime-Trace-Id. So the runtime (only the runtime: extensions
# keep talking to RIE) is pointed at the agent's Runtime API relay, which adds that header; then
# the image's own wrapper (LOCALRUN_NEXT_WRAPPER, e.g. /opt/otel-instrument) takes over.
TRACE_HEADER_WRAPPER = """#!/bin/sh
if [ -n "${LOCALRUN_RUNTIME_API:-}" ]; then
  export AWS_LAMBDA_RUNTIME_API="$LOCALRUN_RUNTIME_API"
fi
if [ -n "${LOCALRUN_NEXT_WRAPPER:-}" ]; then
  next="$LOCALRUN_NEXT_WRAPPER"
  unset LOCALRUN_NEXT_WRAPPER
  export AWS_LAMBDA_EXEC_WRAPPER="$next"
  exec "$next" "$@"
fi
unset AWS_LAMBDA_EXEC_WRAPPER
exec "$@"
"""
