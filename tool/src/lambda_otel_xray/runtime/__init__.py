"""The function side of tracing in Lambda: what a service's telemetry.py calls at init.

Standard library and the OpenTelemetry SDK only. The layer build copies this package into the
layer's python/ (the image's /opt/python); a service's dev venv has it with the tool, so the
service's unit tests run the same code.

- tracing.configure: everything Lambda's init sets up (provider, ids, propagator, instrumentors);
- processor, otlp, sender: each invocation's spans, encoded as OTLP protobuf, sent to the
  collector extension after the response;
- handshake, runtime_hook: telling the extension when they are out (the flush handshake);
- dependencies: the instrumentations' version check, run once at image build.
"""
