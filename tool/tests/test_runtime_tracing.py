"""configure() end to end in a process of its own, as Lambda's runtime runs it: the handler's
response is posted before any span leaves, `done` follows each invocation's export, unsampled
invocations post `done` alone, and init loads neither protobuf nor `packaging`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from lambda_otel_xray.runtime import tracing
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.extension.aws.resource import AwsLambdaResourceDetector
from opentelemetry.sdk.resources import Resource, get_aggregated_resources
from runtime_fakes import FakeExtension

SCENARIO = Path(__file__).with_name("runtime_scenario.py")
LAMBDA_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "order-service",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "AWS_LAMBDA_LOG_STREAM_NAME": "2026/12/03/[$LATEST]0123456789abcdef",
    "AWS_REGION": "eu-west-1",
}


@pytest.fixture
def fake() -> Iterator[FakeExtension]:
    server = FakeExtension()
    yield server
    server.close()


def scenario(fake: FakeExtension, *args: str, **env: str) -> dict:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AWS_LAMBDA_", "_X_AMZN"))
    }
    environment.update(LAMBDA_ENV)
    environment.update(
        {
            "AWS_LAMBDA_RUNTIME_API": fake.address,
            "FAKE_RUNTIME_API": fake.address,
            "OTEL_LAMBDA_HANDSHAKE_ENDPOINT": fake.address,
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": fake.otlp_endpoint,
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        }
    )
    environment.update(env)
    proc = subprocess.run(
        [sys.executable, str(SCENARIO), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_each_response_is_posted_before_its_spans_leave_and_done_follows(
    fake: FakeExtension,
) -> None:
    scenario(fake, "5")
    paths = [r.path for r in fake.requests]
    assert paths[0] == "/v1/runtime"  # registered at init
    for n in range(5):
        response = fake.of(f"/runtime/invocation/req-{n}/response")[0]
        [done] = fake.of(f"/v1/invocations/req-{n}/done")
        exports = [r for r in fake.of("/v1/traces") if response.seq < r.seq < done.seq]
        assert exports, f"invocation {n}: no export between its response and its done"
        assert all(e.received >= response.received for e in exports)
        assert done.received >= max(e.answered for e in exports)
    spans = []
    for export in fake.of("/v1/traces"):
        request = ExportTraceServiceRequest()
        request.ParseFromString(export.body)
        spans += [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert sorted(s.name for s in spans) == sorted(["order-service", "work"] * 5)
    handler = next(s for s in spans if s.name == "order-service")
    assert handler.parent_span_id == bytes.fromhex("53995c3f42cd8ad8")  # Lambda's segment


def test_unsampled_invocations_post_done_and_export_nothing(fake: FakeExtension) -> None:
    scenario(fake, "3", "unsampled")
    assert fake.of("/v1/traces") == []
    assert [r.path for r in fake.of("/v1/invocations/")] == [
        f"/v1/invocations/req-{n}/done" for n in range(3)
    ]


def test_without_an_extension_the_export_is_done_before_the_response(fake: FakeExtension) -> None:
    scenario(fake, "3", OTEL_LAMBDA_HANDSHAKE_ENDPOINT="none")
    assert fake.of("/v1/runtime") == [] and fake.of("/v1/invocations/") == []
    for n in range(3):
        response = fake.of(f"/runtime/invocation/req-{n}/response")[0]
        assert any(e.answered <= response.received for e in fake.of("/v1/traces")[n : n + 1])


def test_init_loads_neither_protobuf_nor_packaging(fake: FakeExtension) -> None:
    """The cold start costs docs/decisions.md names: `packaging` for dependency checks the
    image build makes, protobuf for an encoding written by hand here, `requests`, the
    resource detectors' thread pool, the idna codec; and the version check still works
    afterwards."""
    found = scenario(fake, "1")
    assert found["loaded_at_init"] == []
    assert found["packaging_version_lazy_at_init"] is True
    assert found["conflicts_after"] == [[], []]
    assert found["semconv_initialized_later"] is True


def test_an_instrumentor_module_the_stand_ins_do_not_satisfy_loads_as_it_is() -> None:
    """Should upstream's base instrumentor need more than the stand-ins offer, configure()
    still works: that module is imported against the real ones."""
    code = (
        "import sys, types\n"
        "from lambda_otel_xray.runtime import dependencies\n"
        "dependencies._semconv_stand_in = lambda: types.ModuleType(dependencies.SEMCONV)\n"
        "with dependencies.deferred():\n"
        "    from opentelemetry.instrumentation.aws_lambda import AwsLambdaInstrumentor\n"
        "import opentelemetry.instrumentation.instrumentor as i\n"
        "assert i._OpenTelemetrySemanticConventionStability.__module__ == dependencies.SEMCONV\n"
        "assert not getattr(sys.modules[dependencies.SEMCONV], '_otel_lambda_stand_in', False)\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_the_resource_is_upstreams(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in LAMBDA_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "team=payments,service.name=ignored")
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    upstream = get_aggregated_resources(
        [AwsLambdaResourceDetector()], initial_resource=Resource.create({"service.name": "svc"})
    )
    ours = tracing.lambda_resource("svc")
    drop = "service.instance.id"
    assert {k: v for k, v in ours.attributes.items() if k != drop} == {
        k: v for k, v in upstream.attributes.items() if k != drop
    }
    assert set(ours.attributes) == set(upstream.attributes)
    assert ours.schema_url == upstream.schema_url


def test_outside_lambda_the_resource_has_no_cloud_attributes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_VERSION", raising=False)
    assert "cloud.provider" not in tracing.lambda_resource("svc").attributes


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "use otlp, console or none"),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "receives http/protobuf"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "localhost:4318"}, "not an http"),
        ({"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "2s"}, "number of seconds"),
    ],
)
def test_unsupported_settings_say_what_to_set(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("OTEL_LAMBDA_HANDSHAKE_ENDPOINT", "none")
    with pytest.raises(ValueError, match=message):
        tracing.span_processor()
