"""Run the function locally as Lambda runs it, with a local X-Ray, and read its traces back.

`python -m localrun invoke --event events/sample.json` (what `make local` runs):

1. builds what is missing, once, into build/tools/: the Lambda Runtime Interface Emulator (RIE,
   `go install` of its Go module at a pinned version) and a Python runtime directory with
   `awslambdaric` (pinned) and boto3, like the base image's /var/runtime;
2. stages a private filesystem under build/local/: build/layer.zip unpacked as /opt, the
   function code as /var/task;
3. starts a local X-Ray stand-in on 127.0.0.1: a moto server (X-Ray and STS APIs) and, for the
   xray-otlp exporter, an OTLP/HTTP receiver that checks the SigV4 signature, decodes the spans
   and stores them as X-Ray segments in moto;
4. runs RIE in a mount namespace (bubblewrap), where /opt, /var/task and /var/runtime are the
   staged directories: RIE starts /opt/extensions/collector as Lambda does, and the runtime
   through AWS_LAMBDA_EXEC_WRAPPER=/opt/otel-instrument as the base image's bootstrap does;
5. invokes the function with a known X-Ray trace header, stops RIE with SIGTERM (extensions get
   SHUTDOWN and flush), then reads the traces back with GetTraceSummaries + BatchGetTraces and
   prints them as trees.

`python -m localrun verify-traces` does step 5's lookup against any X-Ray endpoint: AWS after a
deploy, or a stand-in.
"""
