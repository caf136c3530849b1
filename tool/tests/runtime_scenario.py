"""A Lambda runtime's life in one process, for test_runtime_tracing.py (run as a script).

    python runtime_scenario.py INVOCATIONS [unsampled]

The environment says where the fake extension is (OTEL_LAMBDA_HANDSHAKE_ENDPOINT,
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). Plays awslambdaric's part: a runtime client whose
`post_invocation_result` posts the response to the fake (the Runtime API's place), a handler
module configured at "init", then INVOCATIONS invocations as the runtime makes them (set the
trace header, call the handler, post its result). Prints, as JSON, which heavy modules init
loaded.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import time
import types

WATCHED = (
    "packaging.requirements",
    "google.protobuf",
    "requests",
    "concurrent.futures",
    "encodings.idna",
    "opentelemetry.instrumentation._semconv",
)


def fake_runtime_client(address: str) -> type:
    host, port = address.rsplit(":", 1)

    class BaseLambdaRuntimeClient:
        def post_invocation_result(self, invoke_id, result_data, content_type="application/json"):
            # A slow response post (time in which the GIL is free): an export started when
            # the handler returned would overtake it.
            time.sleep(0.05)
            connection = http.client.HTTPConnection(host, int(port), timeout=5)
            connection.request("POST", f"/runtime/invocation/{invoke_id}/response", result_data)
            connection.getresponse().read()
            connection.close()

        def post_invocation_error(self, invoke_id, error_response_data, xray_fault):
            self.post_invocation_result(invoke_id, error_response_data)

    class LambdaRuntimeClient(BaseLambdaRuntimeClient):
        pass

    package = types.ModuleType("awslambdaric")
    module = types.ModuleType("awslambdaric.lambda_runtime_client")
    module.BaseLambdaRuntimeClient = BaseLambdaRuntimeClient  # type: ignore[attr-defined]
    module.LambdaRuntimeClient = LambdaRuntimeClient  # type: ignore[attr-defined]
    sys.modules["awslambdaric"] = package
    sys.modules["awslambdaric.lambda_runtime_client"] = module
    return LambdaRuntimeClient


class Context:
    function_name = "order-service"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:order-service"
    memory_limit_in_mb = 512

    def __init__(self, request_id: str) -> None:
        self.aws_request_id = request_id


def main() -> int:
    count = int(sys.argv[1])
    sampled = "unsampled" not in sys.argv[2:]
    import botocore.client  # noqa: F401  (the function's own import, before telemetry's)

    preloaded = {name for name in WATCHED if name in sys.modules}
    client = fake_runtime_client(os.environ["FAKE_RUNTIME_API"])()

    # The handler module, as the runtime imports it at init: the function, then configure().
    app = types.ModuleType("scenario_app")

    def lambda_handler(event, context):
        from opentelemetry import trace

        with trace.get_tracer("app").start_as_current_span("work"):
            return {"ok": event["n"]}

    app.lambda_handler = lambda_handler  # type: ignore[attr-defined]
    sys.modules["scenario_app"] = app

    from lambda_otel_xray.runtime import tracing

    tracing.configure(
        handler="scenario_app.lambda_handler",
        instrumentors={
            "botocore": ("opentelemetry.instrumentation.botocore", "BotocoreInstrumentor")
        },
        default_service_name="order-service",
    )
    loaded_at_init = sorted(n for n in WATCHED if n in sys.modules and n not in preloaded)
    lazy = type(sys.modules.get("packaging.version")).__name__ == "_LazyModule"

    for n in range(count):
        request_id = f"req-{n}"
        root = f"1-5759e988-bd862e3fe1be46a9942727{n:02x}"
        os.environ["_X_AMZN_TRACE_ID"] = (
            f"Root={root};Parent=53995c3f42cd8ad8;Sampled={1 if sampled else 0}"
        )
        result = sys.modules["scenario_app"].lambda_handler({"n": n}, Context(request_id))
        client.post_invocation_result(request_id, json.dumps(result).encode())
    # What SHUTDOWN's SIGTERM would not wait for, a test may: everything handed over leaves.
    provider = tracing._provider
    assert provider is not None
    provider.shutdown()
    # The image build's check still works in a process that configured tracing.
    from lambda_otel_xray.runtime import dependencies

    conflicts = dependencies.conflicts(
        {"botocore": ("opentelemetry.instrumentation.botocore", "BotocoreInstrumentor")}
    )
    # An instrumentation that uses the semantic-conventions helper (as the HTTP client ones
    # do) imports the real one: the base instrumentor's instrument() initializes it.
    from opentelemetry.instrumentation import _semconv
    from opentelemetry.instrumentation.instrumentor import BaseInstrumentor

    class UsesSemconv(BaseInstrumentor):
        def instrumentation_dependencies(self):
            return []

        def _instrument(self, **kwargs):
            pass

        def _uninstrument(self, **kwargs):
            pass

    UsesSemconv().instrument()
    stability = _semconv._OpenTelemetrySemanticConventionStability
    print(
        json.dumps(
            {
                "semconv_initialized_later": stability._initialized,
                "loaded_at_init": loaded_at_init,
                "packaging_version_lazy_at_init": lazy,
                "conflicts_after": conflicts,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
