"""`lambda-otel-xray layer`: build/layer.zip, the collector extension with its config and the
OpenTelemetry Python SDK.

Lambda layers cannot be attached to container images, so the image carries the layer itself:
the Dockerfile unpacks this zip into /opt, where Lambda starts /opt/extensions/* and the
wrapper /opt/otel-instrument (AWS_LAMBDA_EXEC_WRAPPER).
"""
