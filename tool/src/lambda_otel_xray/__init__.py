"""The tooling of a container-image Lambda service traced with OpenTelemetry into X-Ray.

One command, `lambda-otel-xray`, for what a service's Makefile runs: `layer` (build/layer.zip:
the collector extension compiled from the service's collector/ and the OpenTelemetry Python
SDK), `local` (the image run as Lambda runs it, with a local X-Ray; the trace printed),
`verify-traces` (read the function's traces back from X-Ray) and `sam-local`. It reads the
service's answers to the template's questions from `.copier-answers.yml`.
"""

__version__ = "0.3.0"
