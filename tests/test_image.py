"""The container image, built with a real Docker engine and run the way Lambda runs an image.

Each case renders a service, builds its image with the service's own `make image` (the layer
first, with the tool its `make venv` installs) from the unchanged Dockerfile, and runs it with
`make local`, whose Docker runner starts the image's /lambda-entrypoint.sh (the Runtime
Interface Emulator; invocations on port 8080) in a network namespace shared only with the run's
agent container (the local X-Ray and STS). `public.ecr.aws/lambda/python:<version>` cannot be
pulled here, so a stand-in with its layout takes that name while a case builds (lambda_base.py).

Cases: the default answers (Python 3.13, x86_64, SAM, awsxray); 3.13 on arm64 (under qemu);
the xray-otlp exporter; and each other Python a Debian suite ships (3.11, 3.14). Python 3.10 and
3.12 have no Debian suite: they keep the render and lint checks (test_render.py). Per exporter,
in the image: 500 invocations then SHUTDOWN keep every trace, and an X-Ray that refuses, fails
or hangs never reaches the function; the smallest memory size (128 MB) and the default run 1,000
invocations under their memory limit.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from lambda_base import SUITES, base_image
from localrun_checks import (
    Run,
    assert_handler_trace,
    assert_otlp_spans,
    assert_sigv4,
    assert_xray_document,
    check_fault_run,
    fault_run,
    make,
    measured,
    payload,
    percentile,
    tool,
)
from project_checks import missing_tool
from render import render
from toolenv import tool_venv, venv_bin

pytestmark = pytest.mark.image

SLUG = "my-traced-service"  # the default answers' project_slug
PACKAGE = "my_traced_service"
HUNDRED = 100
SAM_CLI = "aws-sam-cli==1.170.0"
# What the function logs at init when its spans leave after each response (the flush handshake).
HANDSHAKE_ON = "spans leave after each response (flush handshake"


@dataclass(frozen=True)
class ImageCase:
    id: str
    answers: dict[str, Any] = field(default_factory=dict)

    @property
    def python(self) -> str:
        return self.answers.get("python_version", "3.13")

    @property
    def architecture(self) -> str:
        return self.answers.get("architecture", "x86_64")

    @property
    def exporter(self) -> str:
        return self.answers.get("trace_exporter", "awsxray")

    @property
    def image(self) -> str:
        return f"{SLUG}-{self.id}:test"


CASES = [
    ImageCase("default"),
    ImageCase("arm64", {"architecture": "arm64"}),
    ImageCase("xray-otlp", {"trace_exporter": "xray-otlp", "iac": "terraform"}),
    ImageCase("python3.11", {"python_version": "3.11", "iac": "cdk"}),
    ImageCase("python3.14", {"python_version": "3.14"}),
]
BY_ID = {case.id: case for case in CASES}


def _require_docker() -> None:
    proc = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        missing_tool(f"Docker is not usable here ({proc.stderr.strip()[:200]}): run make setup")


@dataclass
class Built:
    project: Path
    build_seconds: float
    size_bytes: int


@pytest.fixture(scope="session")
def built(template_repo: Path, tmp_path_factory: pytest.TempPathFactory):
    """Render and `make image` once per case per session."""
    cache: dict[str, Built] = {}

    def _built(case: ImageCase) -> Built:
        if case.id not in cache:
            _require_docker()
            dest = tmp_path_factory.mktemp(f"image-{case.id}") / "svc"
            render(template_repo, dest, case.answers)
            layer = make(dest, "layer")
            assert layer.returncode == 0, layer.stdout[-4000:] + layer.stderr[-4000:]
            with base_image(case.python, case.architecture):
                start = time.monotonic()
                proc = make(dest, "image", IMAGE=case.image.split(":")[0], TAG="test")
                seconds = time.monotonic() - start
            assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
            size = int(
                subprocess.run(
                    ["docker", "image", "inspect", "--format", "{{.Size}}", case.image],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            cache[case.id] = Built(dest, seconds, size)
            measured(f"image {case.id}: build s (layer cached)", round(seconds, 1))
            measured(f"image {case.id}: size MB", round(size / 1e6, 1))
        return cache[case.id]

    return _built


@pytest.fixture(scope="session")
def local_runs(built, tmp_path_factory: pytest.TempPathFactory):
    """`make local` per case (the user's command: runner check, `make image`, the run)."""
    cache: dict[str, tuple[subprocess.CompletedProcess[str], dict[str, Any], str]] = {}

    def _run(case: ImageCase):
        if case.id not in cache:
            b = built(case)
            report = tmp_path_factory.mktemp(f"local-{case.id}") / "report.json"
            with base_image(case.python, case.architecture):
                proc = make(
                    b.project,
                    "local",
                    IMAGE=case.image.split(":")[0],
                    TAG="test",
                    LOCAL_ARGS=shlex.join(["--report", str(report)]),
                )
            data = json.loads(report.read_text()) if report.is_file() else {}
            log = b.project / "build" / "local" / "rie.log"
            cache[case.id] = (proc, data, log.read_text(errors="replace") if log.is_file() else "")
        return cache[case.id]

    return _run


@pytest.fixture(params=CASES, ids=[c.id for c in CASES])
def case(request: pytest.FixtureRequest) -> ImageCase:
    return request.param


def docker_python(image: str, code: str) -> str:
    """Run ``code`` with the image's own Python, with no network."""
    run = ["docker", "run", "--rm", "--network", "none", "--entrypoint", "python3"]
    proc = subprocess.run(
        [*run, image, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# --------------------------------------------------------------------------------- the image


def test_every_debian_python_has_an_image_case() -> None:
    assert {c.python for c in CASES} == set(SUITES)


def test_image_keeps_the_layer_runnable(case: ImageCase, built) -> None:
    b = built(case)
    facts = json.loads(
        docker_python(
            case.image,
            "import json, os, platform, shutil\n"
            "paths = ['/opt/extensions/collector', '/opt/otel-instrument']\n"
            "print(json.dumps({\n"
            "  'modes': {p: oct(os.stat(p).st_mode & 0o777) for p in paths},\n"
            "  'on_path': {t: shutil.which(t) for t in ('unzip', 'yum', 'dnf', 'microdnf')},\n"
            "  'machine': platform.machine(),\n"
            "  'python': platform.python_version(),\n"
            "  'sdk': os.path.isdir('/opt/python/opentelemetry/sdk'),\n"
            "  'pyc': any(n.endswith('.pyc') for _, _, fs in os.walk('/opt/python') for n in fs),\n"
            "  'elf_machine': open('/opt/extensions/collector', 'rb').read(20)[18],\n"
            "}))\n",
        )
    )
    assert facts["modes"] == {"/opt/extensions/collector": "0o755", "/opt/otel-instrument": "0o755"}
    assert facts["on_path"] == {"unzip": None, "yum": None, "dnf": None, "microdnf": None}
    assert facts["machine"] == {"x86_64": "x86_64", "arm64": "aarch64"}[case.architecture]
    assert facts["elf_machine"] == {"x86_64": 62, "arm64": 183}[case.architecture]  # EM_*
    assert facts["python"].startswith(case.python + ".")
    assert facts["sdk"] and facts["pyc"]  # the SDK is there, byte-compiled by the image's Python
    config = json.loads(
        subprocess.run(
            ["docker", "image", "inspect", "--format", "{{json .Config}}", case.image],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    env = dict(e.split("=", 1) for e in config["Env"])
    assert env["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/otel-instrument"
    assert config["Cmd"] == ["app.lambda_handler"]
    assert config["Entrypoint"] == ["/lambda-entrypoint.sh"]
    assert b.size_bytes > 0


# ------------------------------------------------------------------------- make local, per case


def test_make_local_shows_the_trace(case: ImageCase, local_runs) -> None:
    proc, report, log = local_runs(case)
    output = f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    assert proc.returncode == 0, output
    assert report["runner"] == "docker"
    [invocation] = report["invocations"]
    assert invocation["status"] == 200
    assert payload(invocation)["statusCode"] == 200
    # The trace tree is printed: handler, custom span, STS call.
    for name in (SLUG, f"{PACKAGE}.greet", "STS"):
        assert name in proc.stdout, output
    [trace] = report["traces"]
    for raw in trace["documents"]:
        assert_xray_document(raw)
    docs = [json.loads(d) for d in trace["documents"]]
    # The trace id is the incoming header's Root and the handler sits under its Parent, although
    # RIE drops the header: the runtime got it from the agent's relay.
    assert_handler_trace(docs, invocation, SLUG, PACKAGE)
    assert report["relayed_trace_headers"] == 1
    # Lambda's lifecycle inside the image: RIE started the extension; `docker stop` -> SHUTDOWN.
    assert "External agent collector" in log and "registered" in log
    assert "[collector] SHUTDOWN" in log
    assert report["rie_exit_code"] == 0
    assert report["killed_after_timeout"] == []
    if case.exporter == "xray-otlp":
        run = Run(proc.returncode, proc.stdout, proc.stderr, report, log, 0.0)
        assert_otlp_spans(run, invocation, SLUG, PACKAGE)
        assert_sigv4(run)
    measured(f"image {case.id}: cold start ms (container start to first response)",
             round(report["cold_start_ms"], 1))  # fmt: skip


def test_make_local_writes_a_trace_page_a_browser_shows(local_runs) -> None:
    """`make local` prints the path of one self-contained HTML page of the run's traces; Chromium
    loads it offline without a console error and draws a bar per segment with its duration."""
    from browser import visit
    from lambda_otel_xray.local import tracepage, traces

    proc, report, _ = local_runs(BY_ID["default"])
    assert proc.returncode == 0, proc.stderr
    [line] = [line for line in proc.stdout.splitlines() if line.startswith("trace page")]
    page = Path(line.split(": ", 1)[1])
    assert page.is_file() and page.name == "traces.html"
    check = """(() => [...document.querySelectorAll('li.seg')].map(li => ({
      id: li.dataset.id, dur: li.querySelector('.dur').textContent,
      width: li.querySelector('.bar').getBoundingClientRect().width})))()"""
    seen = visit(page, evaluate=check)
    assert seen.console_errors == [] and seen.blocked == [] and seen.requests == []
    [trace] = report["traces"]
    segments = traces.Trace(trace["id"], trace["duration"], trace["documents"]).segments
    expected = {
        s["id"]: tracepage.format_ms((s["end_time"] - s["start_time"]) * 1000) for s in segments
    }
    assert {row["id"]: row["dur"] for row in seen.result} == expected
    assert len(seen.result) == 3 and all(row["width"] >= 1 for row in seen.result)


def test_make_local_isolates_the_network(case: ImageCase, local_runs) -> None:
    """The run's two containers share one namespace with only a loopback; nothing published."""
    proc, report, _ = local_runs(case)
    assert proc.returncode == 0, proc.stderr
    network = report["network"]
    assert network["interfaces"] == ["lo"]
    agent, function = network["containers"]["agent"], network["containers"]["function"]
    assert agent == {"network_mode": "none", "ports": {}}
    assert function["network_mode"].startswith("container:")
    assert function["ports"] == {}
    left = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=localrun.run={network['containers']['run']}"],
        capture_output=True,
        text=True,
    )
    assert left.stdout.strip() == "", "the run left containers behind"


# ------------------------------------------------------------- the default case, more deeply


def docker_run(built, tmp_path: Path, event: str, *args: str) -> Run:
    """`lambda-otel-xray local --runner docker` of the default case's image."""
    case = BY_ID["default"]
    b = built(case)
    return tool(
        b.project,
        tmp_path,
        "local",
        "--runner",
        "docker",
        "--image",
        case.image,
        "--event",
        event,
        *args,
    )


def test_hundred_invocations_then_docker_stop_keep_every_trace(built, tmp_path: Path) -> None:
    run = docker_run(built, tmp_path, "events/sample.json", "--count", str(HUNDRED))
    assert run.returncode == 0, run.output
    invocations = run.invocations()
    assert len(invocations) == HUNDRED
    assert all(i["status"] == 200 and payload(i)["statusCode"] == 200 for i in invocations)
    traces = run.traces()
    assert set(traces) == {i["trace_id"] for i in invocations}
    by_id = {i["trace_id"]: i for i in invocations}
    for trace_id, docs in traces.items():
        assert_handler_trace(docs, by_id[trace_id], SLUG, PACKAGE)
    assert run.report["rie_exit_code"] == 0
    assert "[collector] SHUTDOWN" in run.log
    warm = run.warm_latencies("healthy")
    measured(
        "image default: warm p50/p99 ms (100 invocations)",
        (round(percentile(warm, 50), 2), round(percentile(warm, 99), 2)),
    )


def test_bad_request_is_a_400_with_the_error_on_the_segment(built, tmp_path: Path) -> None:
    """The default trigger (REST API) with a body that is not JSON: the caller's error."""
    run = docker_run(built, tmp_path, "events/bad-request.json")
    assert run.returncode == 0, run.output
    [invocation] = run.invocations()
    response = payload(invocation)
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"].startswith("the request body is not JSON")
    [docs] = run.traces().values()
    [handler] = docs  # the request never reached the business logic
    assert handler["name"] == SLUG
    assert handler["error"] is True and "fault" not in handler  # 4xx: the caller's error
    assert handler["http"]["response"]["status"] == 400
    [cause] = handler["cause"]["exceptions"]
    assert cause["type"].endswith("BadEventError")
    assert cause["message"].startswith("the request body is not JSON")
    assert cause["stack"], cause  # the Python traceback, as frames


# ------------------------------------------------------------------ per trigger, end to end

TRIGGERS = {
    "rest-api": BY_ID["default"],  # the default answers' trigger
    "function-url": ImageCase("function-url", {"trigger": "function-url"}),
    "sqs": ImageCase("sqs", {"trigger": "sqs"}),
    "none": ImageCase("trigger-none", {"trigger": "none"}),
}
HTTP_ROUTES = {"rest-api": "/greetings", "function-url": "/"}


def assert_logs_carry_the_trace(report: dict[str, Any], stdout: str) -> list[str]:
    """Every line the function wrote during the invocation is JSON with level, message, request
    id and the invocation's X-Ray trace id; `make local` prints them beside the trace tree. At
    init (no request yet) it writes one line only: which way its spans leave."""
    [invocation] = report["invocations"]
    init = [r for r in report["function_logs"] if not r.get("requestId")]
    assert [r["message"] for r in init if HANDSHAKE_ON not in r["message"]] == [], init
    assert len(init) == 1, init
    logs = [r for r in report["function_logs"] if r.get("requestId")]
    assert logs, "the function wrote no JSON log line"
    for record in logs:
        assert record["level"] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), record
        assert record["requestId"], record
        assert record["xrayTraceId"] == invocation["trace_id"], record
        assert record["message"] in stdout, f"{record['message']!r} not printed"
    assert "log lines of this trace" in stdout
    return [record["message"] for record in logs]


@pytest.mark.parametrize("trigger", list(TRIGGERS))
def test_trigger_end_to_end(trigger: str, built, local_runs) -> None:
    """`make local` with the trigger's own events/sample.json: its response format, its spans
    in X-Ray, its log lines with the trace id."""
    case = TRIGGERS[trigger]
    proc, report, _ = local_runs(case)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    [invocation] = report["invocations"]
    response = payload(invocation)
    [trace] = report["traces"]
    for raw in trace["documents"]:
        assert_xray_document(raw)
    docs = [json.loads(d) for d in trace["documents"]]
    messages = assert_logs_carry_the_trace(report, proc.stdout)
    if trigger in HTTP_ROUTES:
        route = HTTP_ROUTES[trigger]
        assert response["statusCode"] == 200
        assert response["headers"]["Content-Type"] == "application/json"
        assert json.loads(response["body"])["message"] == "Hello, OpenTelemetry!"
        tree = assert_handler_trace(docs, invocation, SLUG, PACKAGE)
        http = tree["handler"]["http"]
        assert http["request"]["method"] == "POST"
        assert http["request"]["url"].endswith(route)
        assert http["response"]["status"] == 200
        assert "greeted OpenTelemetry" in messages
        assert f"POST {route} answered 200" in messages
    elif trigger == "none":
        assert response["statusCode"] == 200
        assert_handler_trace(docs, invocation, SLUG, PACKAGE)
        assert "greeted OpenTelemetry" in messages
    else:
        assert_sqs_batch(built(case).project, response, docs, invocation, messages)


def assert_sqs_batch(
    project: Path,
    response: dict[str, Any],
    docs: list[dict[str, Any]],
    invocation: dict[str, Any],
    messages: list[str],
) -> None:
    """Three messages, the second not JSON: one batchItemFailures entry, three links to the
    producers' traces, the failure on its own span, the batch itself a success."""
    records = json.loads((project / "events" / "sample.json").read_text())["Records"]
    assert len(records) == 3
    failed = records[1]["messageId"]
    assert response == {"batchItemFailures": [{"itemIdentifier": failed}]}
    by_name: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        by_name.setdefault(doc["name"], []).append(doc)
    [handler] = by_name[SLUG]
    assert "type" not in handler and handler["parent_id"] == invocation["parent_id"]
    assert not handler.get("fault") and not handler.get("error")  # the batch did not fail
    [consumer] = [d for d in docs if d["name"].startswith("process ")]
    assert consumer["type"] == "subsegment" and consumer["parent_id"] == handler["id"]
    producers = {r["attributes"]["AWSTraceHeader"].split(";")[0][5:] for r in records}
    assert {link["trace_id"] for link in consumer["links"]} == producers
    assert len(consumer["links"]) == 3
    spans = by_name[f"{PACKAGE}.record"]
    assert len(spans) == 3
    assert all(span["parent_id"] == consumer["id"] for span in spans)
    [bad] = [span for span in spans if span.get("fault") or span.get("error")]
    assert bad["metadata"]["default"]["messaging.message.id"] == failed
    [cause] = bad["cause"]["exceptions"]
    assert cause["type"].endswith("BadEventError")
    assert cause["message"].startswith("the message body is not JSON")
    assert len(by_name[f"{PACKAGE}.greet"]) == 2 and len(by_name["STS"]) == 2
    assert "greeted Ada" in messages and "greeted Linus" in messages
    assert any(m.startswith(f"message {failed} failed") for m in messages)
    assert "batch of 3 messages processed, 1 failed" in messages


# ------------------------------------------------------------------- SAM CLI's own local run


def sam_cli_env(tmp_path: Path) -> dict[str, str]:
    """SAM CLI without telemetry and without its weekly PyPI version check (it talks to nothing
    but Docker)."""
    app_dir = tmp_path / "sam-cli"
    app_dir.mkdir()
    (app_dir / "metadata.json").write_text(
        json.dumps({"lastVersionCheck": time.time(), "telemetryEnabled": False})
    )
    return {"SAM_CLI_TELEMETRY": "0", "__SAM_CLI_APP_DIR": str(app_dir)}


def test_sam_local_invoke_traces_into_the_local_xray(built, tmp_path: Path) -> None:
    """`sam build` + `sam local invoke -e events/sample.json` (`make sam-local`): SAM starts the
    image with its own RIE, which runs the image's /lambda-entrypoint.sh as the runtime; the
    template declares the endpoints that `--env-vars` points at the local X-Ray and STS."""
    case = BY_ID["default"]  # iac=sam
    b = built(case)
    sam = venv_bin(tool_venv("sam-cli", [SAM_CLI]), "sam")
    report = tmp_path / "sam-report.json"
    with base_image(case.python, case.architecture):
        proc = make(
            b.project,
            "sam-local",
            env=sam_cli_env(tmp_path),
            SAM=str(sam),
            IMAGE=case.image.split(":")[0],
            TAG="test",
            LOCAL_ARGS=shlex.join(["--report", str(report)]),
        )
    output = f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    assert proc.returncode == 0, output
    data = json.loads(report.read_text())
    assert data["sam_exit_code"] == 0
    response = json.loads(data["response"])
    assert response["statusCode"] == 200, data["response"]
    assert json.loads(response["body"])["account"] == "123456789012"  # moto's STS answered
    [trace] = data["traces"]
    for raw in trace["documents"]:
        assert_xray_document(raw)
    docs = {d["name"]: d for d in (json.loads(raw) for raw in trace["documents"])}
    assert sorted(docs) == sorted([SLUG, f"{PACKAGE}.greet", "STS"])
    handler, greet, sts = docs[SLUG], docs[f"{PACKAGE}.greet"], docs["STS"]
    assert "parent_id" not in handler  # SAM sends no trace header: a new trace starts here
    assert greet["parent_id"] == handler["id"] and sts["parent_id"] == greet["id"]
    assert sts["namespace"] == "aws" and sts["aws"]["operation"] == "GetCallerIdentity"
    for name in (SLUG, f"{PACKAGE}.greet", "STS"):
        assert name in proc.stdout
    left = subprocess.run(
        ["docker", "network", "ls", "-q", "--filter", f"name={data['network']}"],
        capture_output=True,
        text=True,
    )
    assert data["network"].startswith("localrun-sam-")
    assert left.stdout.strip() == "", "the SAM run left its network behind"


class CredentialTrap:
    """Every place botocore's credential chain looks, planted with credentials that tell on
    whoever uses them: an HTTP endpoint on 127.0.0.1 for container credentials, web identity
    (through AWS_ENDPOINT_URL_STS) and instance metadata, which records every request; a config
    and a credentials file whose profile runs a `credential_process` that leaves a marker file;
    static keys and a profile in the environment."""

    KEY = "AKIAPLANTEDHOSTKEY01"

    def __init__(self, tmp_path: Path) -> None:
        import http.server
        import threading

        trap = self
        self.requests: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                trap.requests.append(f"{self.command} {self.path}")
                body = json.dumps(
                    {
                        "AccessKeyId": "ASIAPLANTEDCONTAINER",
                        "SecretAccessKey": "planted",
                        "Token": "planted",
                        "Expiration": "2099-01-01T00:00:00Z",
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_POST = _answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{self.server.server_port}"
        self.marker = tmp_path / "credential-process-ran"
        home = tmp_path / "home"
        (home / ".aws").mkdir(parents=True)
        # Its output need not be valid: the marker alone tells that it ran.
        process = f"sh -c 'touch {self.marker}; echo {{}}'"
        (home / ".aws" / "config").write_text(
            f"[default]\ncredential_process = {process}\n"
            f"[profile planted]\ncredential_process = {process}\n"
            "[profile planted-sso]\nsso_start_url = https://planted.awsapps.com/start\n"
            "sso_region = us-east-1\nsso_account_id = 111122223333\nsso_role_name = planted\n"
        )
        (home / ".aws" / "credentials").write_text(
            f"[default]\naws_access_key_id = {self.KEY}\naws_secret_access_key = planted\n"
        )
        token = tmp_path / "web-identity-token"
        token.write_text("planted-token")
        self.env = {
            "HOME": str(home),
            "AWS_ACCESS_KEY_ID": self.KEY,
            "AWS_SECRET_ACCESS_KEY": "planted",
            "AWS_SESSION_TOKEN": "planted",
            "AWS_PROFILE": "planted",
            "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{url}/container-credentials",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": "planted",
            "AWS_WEB_IDENTITY_TOKEN_FILE": str(token),
            "AWS_ROLE_ARN": "arn:aws:iam::111122223333:role/planted",
            "AWS_ENDPOINT_URL_STS": f"{url}/sts",
            "AWS_EC2_METADATA_DISABLED": "false",
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": f"{url}/imds",
        }

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("target", ["local", "sam-local"])
def test_local_runs_hand_out_no_host_credentials(built, tmp_path: Path, target: str) -> None:
    """Whatever credentials this machine has, `make local` and `make sam-local` give the
    function (and SAM) placeholders only: no planted source is ever consulted, and the runs
    still trace."""
    case = BY_ID["default"]  # iac=sam, so both targets exist
    b = built(case)
    trap = CredentialTrap(tmp_path)
    variables = {"IMAGE": case.image.split(":")[0], "TAG": "test"}
    env = dict(trap.env)
    if target == "sam-local":
        env.update(sam_cli_env(tmp_path))
        variables["SAM"] = str(venv_bin(tool_venv("sam-cli", [SAM_CLI]), "sam"))
    try:
        with base_image(case.python, case.architecture):
            proc = make(b.project, target, env=env, **variables)
    finally:
        trap.close()
    output = f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    assert proc.returncode == 0, output
    assert trap.requests == [], f"a planted credential endpoint was called: {trap.requests}"
    assert not trap.marker.exists(), "a planted credential_process ran"
    assert trap.KEY not in output
    for name in (SLUG, f"{PACKAGE}.greet", "STS"):  # and the trace still arrived
        assert name in proc.stdout, output


def test_entrypoint_hands_over_to_a_given_runtime_api(built) -> None:
    """SAM's RIE starts /lambda-entrypoint.sh as the runtime, with AWS_LAMBDA_RUNTIME_API set:
    the entrypoint must then exec the bootstrap, not start an RIE of its own (which would find
    :8080 taken and leave SAM's RIE without a runtime), as AWS's base image does."""
    case = BY_ID["default"]
    built(case)
    api = "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9"
    proc = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "-e", api, case.image],
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0  # nothing listens on :9: the runtime client gives up
    assert "(rapid)" not in output, output  # no RIE was started
    # The runtime interface client itself started, at once, and found nothing at the given API.
    assert "LAMBDA_RUNTIME Failed to get next invocation" in output, output


# ----------------------------------------------- zero loss, faults and memory in the image

# The exporters' image cases (the default answers use awsxray).
BY_EXPORTER = {"awsxray": BY_ID["default"], "xray-otlp": BY_ID["xray-otlp"]}
BURST = 500
FAULT_INVOCATIONS = 30
RECOVERED_INVOCATIONS = 5
P50_TOLERANCE_MS = 25.0
RSS_LIMIT_MIB = 128
RSS_GROWTH_LIMIT_MIB = 32
# Lambda's smallest size (the form accepts it) and the default, as the tool's runner enforces
# them (`docker run --memory`).
MEMORY_CASES = {128: ImageCase("memory-128", {"memory_size": 128}), 512: BY_ID["default"]}
MEMORY_INVOCATIONS = 1000


@pytest.fixture(scope="session")
def bursts(built, tmp_path_factory: pytest.TempPathFactory):
    """`lambda-otel-xray local --count 500` per exporter, once per session."""
    cache: dict[str, Run] = {}

    def _burst(exporter: str) -> Run:
        if exporter not in cache:
            case = BY_EXPORTER[exporter]
            b = built(case)
            cache[exporter] = tool(
                b.project,
                tmp_path_factory.mktemp(f"burst-{exporter}"),
                "local", "--runner", "docker", "--image", case.image,
                "--event", "events/sample.json", "--count", str(BURST),
                timeout=1800,
            )  # fmt: skip
        return cache[exporter]

    return _burst


def assert_the_handshake_held(run: Run, invocations: int) -> None:
    """The function took part in the flush handshake (it says so at init), and the extension
    gave up waiting for an invocation's spans (it logs each time its deadline fires) for at
    most 1% of them: a machine this loaded can stall one, but not the protocol."""
    messages = [r["message"] for r in run.report["function_logs"]]
    assert any(HANDSHAKE_ON in m for m in messages), messages[:5]
    fired = run.log.count("no done for request")
    assert fired <= invocations // 100, f"{fired} of {invocations} invocations: {run.log[-2000:]}"


@pytest.mark.parametrize("exporter", list(BY_EXPORTER))
def test_burst_then_shutdown_loses_nothing(exporter: str, bursts) -> None:
    """500 invocations back to back, then `docker stop` (SHUTDOWN): 500 traces, each whole."""
    run = bursts(exporter)
    assert run.returncode == 0, run.output
    invocations = run.invocations()
    assert len(invocations) == BURST
    assert all(i["status"] == 200 and payload(i)["statusCode"] == 200 for i in invocations)
    traces = run.traces()
    expected = {i["trace_id"] for i in invocations}
    assert set(traces) == expected, f"{len(expected - set(traces))} traces lost"
    by_id = {i["trace_id"]: i for i in invocations}
    for trace_id, docs in traces.items():
        assert_handler_trace(docs, by_id[trace_id], SLUG, PACKAGE)
    for trace in run.report["traces"]:
        for raw in trace["documents"]:
            assert_xray_document(raw)
    assert run.report["rie_exit_code"] == 0
    assert run.report["killed_after_timeout"] == []
    assert "[collector] SHUTDOWN" in run.log
    assert_the_handshake_held(run, BURST)
    if exporter == "xray-otlp":
        assert len(run.report["otlp"]["spans"]) == 3 * BURST
        assert_sigv4(run)
    warm = run.warm_latencies("healthy")
    measured(f"image {exporter} burst: invocations / traces", f"{BURST} / {len(traces)}")
    measured(
        f"image {exporter} burst: warm p50/p99 ms (caller; RIE answers after the extension)",
        (round(percentile(warm, 50), 2), round(percentile(warm, 99), 2)),
    )


@pytest.mark.parametrize("fault", ["refuse", "500", "hang"])
@pytest.mark.parametrize("exporter", list(BY_EXPORTER))
def test_xray_faults_never_reach_the_function(exporter: str, fault: str, built, bursts) -> None:
    """The image's collector exporting into an X-Ray that refuses, fails or hangs (the fault
    harness of tests/faults.py on the Docker runner): the function answers as when healthy,
    and traces flow again once X-Ray recovers."""
    healthy = bursts(exporter)
    assert healthy.returncode == 0, healthy.output
    case = BY_EXPORTER[exporter]
    project = built(case).project
    run = fault_run(
        project,
        runner="docker",
        image=case.image,
        events=[(project / "events" / "sample.json").read_bytes()],
        count=FAULT_INVOCATIONS,
        recover=RECOVERED_INVOCATIONS,
        fault=fault,
        trace_wait_s=60,
    )
    figures = check_fault_run(
        run,
        healthy,
        fault=fault,
        exporter=exporter,
        slug=SLUG,
        package=PACKAGE,
        fault_invocations=FAULT_INVOCATIONS,
        recovered_invocations=RECOVERED_INVOCATIONS,
        p50_tolerance_ms=P50_TOLERANCE_MS,
        rss_limit_mib=RSS_LIMIT_MIB,
        rss_growth_limit_mib=RSS_GROWTH_LIMIT_MIB,
    )
    # The function hands its spans to the local collector, never to X-Ray: its handshake
    # holds whatever X-Ray does.
    assert_the_handshake_held(run, FAULT_INVOCATIONS + RECOVERED_INVOCATIONS)
    measured(f"image {exporter} fault={fault}", figures)


@pytest.mark.parametrize("memory", list(MEMORY_CASES))
def test_the_smallest_function_runs_clean(memory: int, built, tmp_path: Path) -> None:
    """A service rendered with memory_size=128 (and the default 512) runs 1,000 invocations
    under `docker run --memory` of that size: no OOM kill, no lost trace; the function's and
    the extension's peak memory are recorded apart."""
    case = MEMORY_CASES[memory]
    b = built(case)
    run = tool(
        b.project,
        tmp_path,
        "local", "--runner", "docker", "--image", case.image,
        "--event", "events/sample.json", "--count", str(MEMORY_INVOCATIONS),
        timeout=3600,
    )  # fmt: skip
    assert run.returncode == 0, run.output
    invocations = run.invocations()
    assert len(invocations) == MEMORY_INVOCATIONS
    assert all(i["status"] == 200 and payload(i)["statusCode"] == 200 for i in invocations)
    assert run.report["killed_after_timeout"] == [], run.report["killed_after_timeout"]
    assert run.report["missing_trace_ids"] == []
    assert len(run.report["traces"]) == MEMORY_INVOCATIONS
    assert_the_handshake_held(run, MEMORY_INVOCATIONS)
    function = run.report["function_memory"]
    extension_kb = run.report["collector"]["peak_rss_kb"]
    assert function["peak_rss_kb"] and extension_kb and function["container_peak_kb"]
    assert function["container_peak_kb"] < memory * 1024
    assert f"of the function's {memory} MB" in run.stdout  # `make local` says it too
    measured(
        f"image memory_size={memory}: peak MiB function / extension / container",
        (
            round(function["peak_rss_kb"] / 1024, 1),
            round(extension_kb / 1024, 1),
            round(function["container_peak_kb"] / 1024, 1),
        ),
    )
