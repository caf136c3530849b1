"""What the end-to-end and image tests share: running a rendered service's `python -m localrun`,
and checking what it reports (the invocations, the traces read back from the local X-Ray, the
OTLP requests and their SigV4 signatures).
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from project_checks import missing_tool
from toolenv import CACHE_DIR, tool_venv, venv_bin
from xray_schema import SchemaUnavailable, document_errors

REGION = "us-east-1"
# localrun's fake credentials (AWS's documentation examples).
FAKE_ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
FAKE_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
HEX16 = re.compile(r"^[0-9a-f]{16}$")
# Shared by every run of every test module, like a developer's build/tools (LOCALRUN_TOOLS_DIR).
LOCALRUN_TOOLS = CACHE_DIR / "localrun-tools"
MEASURED: dict[str, Any] = {}


def measured(key: str, value: Any) -> None:
    """Numbers worth reading in the output (pytest -s) and in .cache/e2e-measurements.json."""
    MEASURED[key] = value
    print(f"[e2e] {key}: {value}")
    out = CACHE_DIR.parent / "e2e-measurements.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    known = json.loads(out.read_text()) if out.is_file() else {}
    out.write_text(json.dumps({**known, key: value}, indent=1) + "\n")


def dev_python(project: Path) -> Path:
    """The Python `make venv` gives the project (its requirements-dev.txt), cached."""
    return venv_bin(tool_venv("localrun-dev", sorted(set(dev_requirements(project)))), "python")


def dev_requirements(project: Path) -> list[str]:
    """requirements-dev.txt with its `-r` includes expanded: what `make venv` installs."""
    out: list[str] = []
    for line in (project / "requirements-dev.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            out += dev_requirements_file(project / line[3:].strip())
        elif line:
            out.append(line)
    return out


def dev_requirements_file(path: Path) -> list[str]:
    return [
        line.split("#", 1)[0].strip()
        for line in path.read_text().splitlines()
        if line.split("#", 1)[0].strip()
    ]


@dataclass
class Run:
    proc: subprocess.CompletedProcess[str]
    report: dict[str, Any]
    log: str
    seconds: float

    @property
    def output(self) -> str:
        return f"--- stdout\n{self.proc.stdout}\n--- stderr\n{self.proc.stderr}"

    def invocations(self, phase: str | None = None) -> list[dict[str, Any]]:
        return [i for i in self.report["invocations"] if phase is None or i["phase"] == phase]

    def warm_latencies(self, phase: str) -> list[float]:
        return [i["latency_ms"] for i in self.invocations(phase) if i["index"] > 0]

    def traces(self) -> dict[str, list[dict[str, Any]]]:
        return {t["id"]: [json.loads(d) for d in t["documents"]] for t in self.report["traces"]}


def localrun(
    project: Path,
    tmp_path: Path,
    *args: str,
    python: Path | None = None,
    tools: Path = LOCALRUN_TOOLS,
    env: dict[str, str] | None = None,
    report: bool = True,
    timeout: float = 600,
) -> Run:
    report_path = tmp_path / f"report-{time.monotonic_ns()}.json"
    cmd = [str(python or dev_python(project)), "-m", "localrun", *args]
    if report:
        cmd += ["--report", str(report_path)]
    start = time.monotonic()
    proc = subprocess.run(
        cmd,
        cwd=project,
        env={**os.environ, "LOCALRUN_TOOLS_DIR": str(tools), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    seconds = time.monotonic() - start
    log_file = project / "build" / "local" / "rie.log"
    log = log_file.read_text(errors="replace") if log_file.is_file() else ""
    data = json.loads(report_path.read_text()) if report_path.is_file() else {}
    return Run(proc, data, log, seconds)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def assert_xray_document(raw: str) -> None:
    """Valid against AWS's segment-document schema and the rules it leaves out (xray_schema),
    finished (an end time, not in progress), and of a trace id minted around now."""
    try:
        problems = document_errors(raw)
    except SchemaUnavailable as exc:
        missing_tool(str(exc))
    assert problems == [], f"{problems}: {raw[:2000]}"
    doc = json.loads(raw)
    assert isinstance(doc.get("end_time"), int | float), doc
    epoch = int(doc["trace_id"].split("-")[1], 16)
    assert abs(time.time() - epoch) < 3600, f"trace id epoch {epoch} is not recent"


def assert_handler_trace(
    docs: list[dict[str, Any]], invocation: dict[str, Any], slug: str, package: str
) -> dict:
    """The handler segment, the custom greet subsegment and the STS call, correctly parented."""
    by_name = {d["name"]: d for d in docs}
    assert sorted(by_name) == sorted([slug, f"{package}.greet", "STS"]), docs
    assert len(docs) == 3
    handler, greet, sts = by_name[slug], by_name[f"{package}.greet"], by_name["STS"]
    for doc in docs:
        assert doc["trace_id"] == invocation["trace_id"]  # = Root of the incoming header
    # The handler span is a segment of service SLUG, parented under the caller's segment (the
    # Parent of the trace header, which is Lambda's own segment in AWS).
    assert "type" not in handler
    assert handler["parent_id"] == invocation["parent_id"]
    # No origin: Lambda's own function segment has this name with AWS::Lambda::Function, and
    # the console would merge the two nodes (decision 9 in docs/decisions.md).
    assert "origin" not in handler
    assert greet["type"] == "subsegment" and greet["parent_id"] == handler["id"]
    assert sts["type"] == "subsegment" and sts["parent_id"] == greet["id"]
    assert sts["namespace"] == "aws"
    assert sts["aws"]["operation"] == "GetCallerIdentity"
    eps = 2e-6  # documents carry microseconds
    assert handler["start_time"] - eps <= greet["start_time"] <= sts["start_time"] + eps
    assert sts["end_time"] <= greet["end_time"] + eps <= handler["end_time"] + 2 * eps
    return {"handler": handler, "greet": greet, "sts": sts}


def otlp_spans_of(run: Run, trace_id: str) -> dict[str, dict[str, Any]]:
    hex_id = trace_id[2:].replace("-", "")
    spans = [s for s in run.report["otlp"]["spans"] if s["trace_id"] == hex_id]
    by_name = {s["name"]: s for s in spans}
    assert len(by_name) == len(spans), spans
    return by_name


def assert_otlp_spans(
    run: Run, invocation: dict[str, Any], slug: str, package: str
) -> dict[str, dict[str, Any]]:
    """The same tree on the OTLP spans that reached the xray-otlp endpoint."""
    spans = otlp_spans_of(run, invocation["trace_id"])
    assert sorted(spans) == sorted([slug, f"{package}.greet", "STS.GetCallerIdentity"])
    handler, greet = spans[slug], spans[f"{package}.greet"]
    sts = spans["STS.GetCallerIdentity"]
    for span in spans.values():
        assert re.fullmatch(r"[0-9a-f]{32}", span["trace_id"])
        assert HEX16.match(span["span_id"])
        assert span["start_time_unix_nano"] <= span["end_time_unix_nano"]
        assert span["resource"]["service.name"] == slug
        assert span["resource"]["cloud.platform"] == "aws_lambda"
    assert handler["kind"] == "SERVER"
    assert handler["parent_span_id"] == invocation["parent_id"]
    assert greet["kind"] == "INTERNAL" and greet["parent_span_id"] == handler["span_id"]
    assert sts["kind"] == "CLIENT" and sts["parent_span_id"] == greet["span_id"]
    assert sts["attributes"]["rpc.system"] == "aws-api"
    assert sts["attributes"]["rpc.method"] == "GetCallerIdentity"
    return spans


SIGV4 = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<signed>[^,]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)


def botocore_signature(request: dict[str, Any], signed: list[str]) -> str:
    """The signature botocore's own SigV4 signer computes for the request as it arrived."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    headers = {name: request["headers"][name] for name in signed}
    aws_request = AWSRequest(
        method=request["method"],
        url=f"http://{headers['host']}{request['path']}",
        data=base64.b64decode(request["body_b64"]),
        headers=headers,
    )
    aws_request.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(Credentials(FAKE_ACCESS_KEY, FAKE_SECRET_KEY), "xray", REGION)
    canonical = signer.canonical_request(aws_request)
    return signer.signature(signer.string_to_sign(aws_request, canonical), aws_request)


def assert_sigv4(run: Run) -> None:
    """Every export was signed for X-Ray in the function's region (the stand-in's check), and
    the signatures of the requests kept verbatim match botocore's independent computation."""
    auth = run.report["otlp"]["auth"]
    assert auth, "the OTLP endpoint got no request"
    for check in auth:
        assert check["ok"], check["reason"]
        assert check["service"] == "xray"
        assert check["region"] == REGION
        assert check["access_key"] == FAKE_ACCESS_KEY
        assert {"host", "x-amz-date", "content-type"} <= set(check["signed_headers"])
    requests = run.report["otlp"]["requests"]
    assert requests
    for request in requests:
        match = SIGV4.match(request["headers"]["authorization"])
        assert match, request["headers"]["authorization"]
        assert (match["service"], match["region"]) == ("xray", REGION)
        assert match["key"] == FAKE_ACCESS_KEY
        assert request["headers"]["x-amz-date"].startswith(match["date"])
        signed = match["signed"].split(";")
        assert botocore_signature(request, signed) == match["signature"]


def payload(invocation: dict[str, Any]) -> dict[str, Any]:
    return json.loads(invocation["body"])
