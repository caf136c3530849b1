"""Tracing set-up at Lambda's init: the provider, the X-Ray ids and propagator, the exporter,
the chosen instrumentors, the handler's end-of-invocation hook.

Cold start pays for every import here, so only what the handler's first span needs is loaded
(measured: docs/benchmarks.md, "Cold start in the image"): no entry-point scans, no
`packaging` (dependencies.deferred), no protobuf (otlp.py), no resource-detector thread pool.
"""

from __future__ import annotations

import functools
import gc
import importlib
import importlib.util
import logging
import os
import sys
import uuid
from collections.abc import Mapping
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.version import __version__ as sdk_version

from .dependencies import deferred
from .handshake import ENDPOINT_ENV, Handshake, flush_timeout_s, handshake_address
from .processor import LambdaSpanProcessor

OTLP_TRACES_ENDPOINT = "http://localhost:4318/v1/traces"
# Seconds per export, retries included (the Python SDK reads this variable in seconds too).
DEFAULT_EXPORT_TIMEOUT_S = 2.0
HANDSHAKE_OFF = ("none", "off", "false", "0")

_logger = logging.getLogger(__name__)
_provider: TracerProvider | None = None
_processor: SpanProcessor | None = None


def service_name(default: str) -> str:
    """The X-Ray service name: OTEL_SERVICE_NAME, else the function name, else ``default``."""
    return (
        os.environ.get("OTEL_SERVICE_NAME") or os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or default
    )


def lambda_resource(name: str) -> Resource:
    """What `Resource.create({service.name: name})` merged with upstream's
    AwsLambdaResourceDetector gives (tool/tests/test_runtime_tracing.py compares them), without
    the two thread pools `get_aggregated_resources` starts or the detector package's imports."""
    resource = Resource(
        {
            "telemetry.sdk.language": "python",
            "telemetry.sdk.name": "opentelemetry",
            "telemetry.sdk.version": sdk_version,
            # As the SDK's ServiceInstanceIdResourceDetector: a random UUID per process.
            "service.instance.id": str(uuid.uuid4()),
        }
    )
    resource = resource.merge(OTELResourceDetector().detect())
    resource = resource.merge(Resource({"service.name": name}))
    env = os.environ
    try:
        detected = {
            "cloud.provider": "aws",
            "cloud.platform": "aws_lambda",
            "cloud.region": env["AWS_REGION"],
            "faas.name": env["AWS_LAMBDA_FUNCTION_NAME"],
            "faas.version": env["AWS_LAMBDA_FUNCTION_VERSION"],
            "faas.instance": env["AWS_LAMBDA_LOG_STREAM_NAME"],
            "faas.max_memory": int(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]),
        }
    except (KeyError, ValueError) as error:
        # Outside Lambda (unit tests): upstream's detector adds nothing either.
        _logger.debug("not in Lambda, no cloud/faas resource attributes: %s", error)
        return resource
    return resource.merge(Resource(detected))


def _env_choice(*names: str, default: str) -> str:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return default


def _wants_handshake() -> bool:
    configured = os.environ.get(ENDPOINT_ENV, "").strip()
    if configured.lower() in HANDSHAKE_OFF:
        return False
    if os.environ.get("AWS_LAMBDA_MAX_CONCURRENCY"):
        # Several invocations at once in one environment: the handshake is per invocation of a
        # single runtime, so export synchronously.
        return False
    # In Lambda (or the emulator) only, unless a test points it somewhere explicitly.
    return bool(configured or os.environ.get("AWS_LAMBDA_RUNTIME_API"))


def otlp_processor() -> LambdaSpanProcessor:
    """OTLP/HTTP protobuf to the collector extension, after the response when the extension
    takes the flush handshake, synchronously otherwise."""
    from .otlp import Encoder
    from .sender import OtlpHttpSender

    protocol = _env_choice(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL", default="http/protobuf"
    )
    if protocol != "http/protobuf":
        raise ValueError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported here: the collector "
            "extension receives http/protobuf (unset it)"
        )
    endpoint = _env_choice("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", default=OTLP_TRACES_ENDPOINT)
    timeout = _env_choice(
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        default=str(DEFAULT_EXPORT_TIMEOUT_S),
    )
    try:
        timeout_s = float(timeout)
    except ValueError:
        raise ValueError(
            f"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT={timeout!r} is not a number of seconds"
        ) from None
    sender = OtlpHttpSender(endpoint, timeout_s)
    encoder = Encoder()

    def export(spans: Any) -> bool:
        return sender.send(encoder.encode(spans))

    flush = None
    if _wants_handshake():
        client = Handshake(*handshake_address())
        if client.register():
            flush = client
            # One line per execution environment: which way this function's spans leave.
            _logger.info(
                "spans leave after each response (flush handshake with the collector "
                "extension at %s:%s)",
                client.host,
                client.port,
            )
        else:
            client.close()
            _logger.warning(
                "no flush handshake with the collector extension at %s:%s: spans are exported "
                "before each response",
                client.host,
                client.port,
            )
    processor = LambdaSpanProcessor(export, flush)
    if flush is not None:
        from .runtime_hook import install

        processor.hold = install(processor.release)
    return processor


def span_processor() -> SpanProcessor | None:
    """The exporter chosen by OTEL_TRACES_EXPORTER: `otlp` (default), `console` or `none`."""
    choice = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower()
    if choice == "none":
        return None
    if choice == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

        return SimpleSpanProcessor(ConsoleSpanExporter())
    if choice != "otlp":
        raise ValueError(
            f"OTEL_TRACES_EXPORTER={choice!r} is not supported here: use otlp, console or none"
        )
    return otlp_processor()


class _NoMetrics(NoOpMeterProvider):
    """This service exports traces only. The aws-lambda instrumentation flushes the meter
    provider after every invocation and warns when it cannot, so give it one that can."""

    def force_flush(self, timeout_millis: float = 0) -> bool:
        return True


def _hook_handler(handler: str, processor: LambdaSpanProcessor) -> None:
    """Wrap ``handler`` (module.function, already wrapped by the aws-lambda instrumentation) so
    that its end tells the processor which invocation's spans it has now got."""
    module_name, _, function_name = handler.replace("/", ".").rpartition(".")
    module = sys.modules.get(module_name) or importlib.import_module(module_name)
    instrumented = getattr(module, function_name)
    flush_timeout = flush_timeout_s()
    warned = False

    @functools.wraps(instrumented)
    def lambda_handler(event: Any, context: Any) -> Any:
        nonlocal warned
        wait = flush_timeout
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if callable(remaining):
            # The extension stops waiting 100 ms before the invocation's deadline.
            wait = min(wait, remaining() / 1000 - 0.1)
        processor.invocation_started(wait)
        if processor.held():
            # The runtime never told us it posted the last response (an awslambdaric that
            # posts another way): export at each handler's end from now on.
            if not warned:
                _logger.warning("the runtime hook saw no response posted; exporting at return")
                warned = True
            processor.hold = False
            processor.release()
        try:
            return instrumented(event, context)
        finally:
            processor.invocation_done(getattr(context, "aws_request_id", None))

    setattr(module, function_name, lambda_handler)


def configure(
    *,
    handler: str,
    instrumentors: Mapping[str, tuple[str, str]],
    default_service_name: str,
) -> TracerProvider:
    """Install the tracer provider, propagator and instrumentors; idempotent.

    ``handler`` is the module.function the aws-lambda instrumentation wraps (call this after it
    is defined); ``instrumentors`` maps each chosen library to its instrumentor's (module,
    class), so only those are imported.
    """
    global _provider, _processor
    if _provider is not None:
        return _provider

    from opentelemetry.propagators.aws import AwsXRayLambdaPropagator
    from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator

    # X-Ray ids (epoch-prefixed trace ids) and the Lambda propagator, which parents the handler
    # span under the segment Lambda itself records (from _X_AMZN_TRACE_ID).
    provider = TracerProvider(
        resource=lambda_resource(service_name(default_service_name)),
        id_generator=AwsXRayIdGenerator(),
    )
    processor = span_processor()
    if processor is not None:
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    propagate.set_global_textmap(AwsXRayLambdaPropagator())

    # The version check each instrumentor makes costs milliseconds per instrumentor at every
    # cold start (importlib.metadata over the installed distributions, and `packaging`): the
    # image build runs it once instead (dependencies.check). What stays is its cheap half: a
    # library that is not installed is not instrumented.
    with deferred():
        for library, (module_name, class_name) in instrumentors.items():
            if importlib.util.find_spec(library) is None:
                _logger.warning("%s is not installed, so it is not instrumented", library)
                continue
            instrumentor = getattr(importlib.import_module(module_name), class_name)()
            instrumentor.instrument(tracer_provider=provider, skip_dep_check=True)
        from opentelemetry.instrumentation.aws_lambda import AwsLambdaInstrumentor

    os.environ.setdefault("_HANDLER", handler)
    AwsLambdaInstrumentor().instrument(
        tracer_provider=provider, meter_provider=_NoMetrics(), skip_dep_check=True
    )
    if isinstance(processor, LambdaSpanProcessor) and processor.handshake is not None:
        _hook_handler(handler, processor)
    _provider, _processor = provider, processor
    # Everything loaded so far (modules, classes, the SDK) lives as long as the execution
    # environment. Python's cyclic garbage collector walked all of it on every full
    # collection, which made the first invocation ~25 ms slower (bench/python_overhead.py);
    # frozen objects are left out of those walks.
    gc.freeze()
    return provider
