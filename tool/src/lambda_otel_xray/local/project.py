"""This service's answers to the template's questions, as `make local` needs them."""

from __future__ import annotations

FUNCTION_NAME = "{{ project_slug }}"
PACKAGE_NAME = "{{ package_name }}"
AWS_REGION = "{{ aws_region }}"
TRACE_EXPORTER = "{{ trace_exporter }}"
IAC = "{{ iac }}"
PYTHON_VERSION = "{{ python_version }}"
ARCHITECTURE = "{{ architecture }}"
MEMORY_SIZE_MB = {{ memory_size }}
TIMEOUT_S = {{ timeout }}
HANDLER = "app.lambda_handler"
# Function code copied into /var/task (the Dockerfile's COPY lines).
CODE = ("app.py", "{{ package_name }}")
