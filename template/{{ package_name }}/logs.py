"""Log lines as JSON, each with the X-Ray trace id, through the standard `logging` module.

First choice is Lambda's own JSON log format (`LoggingConfig` in the IaC): Lambda then sets
AWS_LAMBDA_LOG_FORMAT=JSON and AWS_LAMBDA_LOG_LEVEL, and the Python runtime writes every record
as one JSON object with `timestamp`, `level`, `message`, `logger` and `requestId`, plus every
attribute a record carries beyond the standard ones. So this module only adds one attribute to
every record, `xrayTraceId` (`1-xxxxxxxx-...`, the form CloudWatch Logs Insights and the X-Ray
console join on). Where that format is off (Text in the IaC, or a run outside Lambda), it puts
a formatter writing the same fields on the root logger's handlers instead.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback
from typing import Any

from opentelemetry import trace

TRACE_ID_FIELD = "xrayTraceId"
LOG_FORMAT_ENV = "AWS_LAMBDA_LOG_FORMAT"
LOG_LEVEL_ENV = "AWS_LAMBDA_LOG_LEVEL"
TRACE_HEADER_ENV = "_X_AMZN_TRACE_ID"

# Attributes every LogRecord has, plus those the Lambda runtime adds itself: the rest are a
# caller's `extra=` fields and are written as they are.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "aws_request_id",
    "tenant_id",
    "_frame_type",
    TRACE_ID_FIELD,
}

_records_carry_trace_id = False


def xray_trace_id() -> str | None:
    """The trace this code runs in, in X-Ray's form: the current span's trace (the handler's
    spans share Lambda's trace id), else the Root of Lambda's trace header, else None."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        hex_id = f"{context.trace_id:032x}"
        return f"1-{hex_id[:8]}-{hex_id[8:]}"
    for part in os.environ.get(TRACE_HEADER_ENV, "").split(";"):
        key, _, value = part.partition("=")
        if key.strip() == "Root" and value.strip():
            return value.strip()
    return None


def lambda_formats_json() -> bool:
    return os.environ.get(LOG_FORMAT_ENV, "").strip().upper() == "JSON"


class JsonLines(logging.Formatter):
    """One JSON object per record, with the field names of Lambda's JSON log format. ``end``
    ends the line: the Lambda runtime's handler writes a formatted record as it is (its own
    formatters end their lines), while a StreamHandler adds its own terminator."""

    def __init__(self, end: str = "") -> None:
        super().__init__()
        self.end = end

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "requestId": getattr(record, "aws_request_id", None) or None,
            TRACE_ID_FIELD: getattr(record, TRACE_ID_FIELD, None),
        }
        if record.exc_info and record.exc_info[0] is not None:
            line["errorType"] = record.exc_info[0].__name__
            line["errorMessage"] = str(record.exc_info[1])
            line["stackTrace"] = traceback.format_tb(record.exc_info[2])
        line.update((k, v) for k, v in record.__dict__.items() if k not in _STANDARD)
        text = json.dumps({k: v for k, v in line.items() if v is not None}, default=str)
        return text + self.end


def _with_trace_id(factory: Any) -> Any:
    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        setattr(record, TRACE_ID_FIELD, xray_trace_id())
        return record

    return make_record


def configure(root: logging.Logger | None = None) -> None:
    """Once per execution environment (init phase), before the first log line. ``root`` is the
    logger whose handlers write the lines (the root logger; tests pass their own)."""
    global _records_carry_trace_id
    if not _records_carry_trace_id:
        # A record factory, not a filter: a logger's filters miss records of its child loggers.
        logging.setLogRecordFactory(_with_trace_id(logging.getLogRecordFactory()))
        _records_carry_trace_id = True
    root = root or logging.getLogger()
    if not lambda_formats_json():
        if not root.handlers:  # outside the Lambda runtime, which installs its own handler
            root.addHandler(logging.StreamHandler(sys.stdout))
        for handler in root.handlers:
            streams = isinstance(handler, logging.StreamHandler)
            handler.setFormatter(JsonLines(end="" if streams else "\n"))
    if not os.environ.get(LOG_LEVEL_ENV):  # else the runtime set the root logger's level
        root.setLevel(logging.INFO)
