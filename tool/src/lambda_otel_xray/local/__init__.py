"""Run the function locally as Lambda runs it, with a local X-Ray, and read its traces back.

`lambda-otel-xray local --event events/sample.json` (what `make local` runs):

1. chooses a runner (cli.choose_runner): `docker` runs the service's image (`make image`) as AWS
   documents local testing of images (container.py); `sandbox`, without Docker on Linux, runs
   the Runtime Interface Emulator in a bubblewrap mount namespace with build/layer.zip as /opt
   (sandbox.py); runners.py holds what both share;
2. starts the agent (agent.py, spoken to through agentclient.py) where the function's 127.0.0.1
   will be: local stand-ins for AWS (standins.py: moto for X-Ray and STS, and for xray-otlp an
   OTLP/HTTP receiver that checks SigV4), a relay for the runtime's Runtime API that adds the
   trace header RIE drops, and the invoker. With Docker it runs in a container of the image that
   owns a network namespace with nothing but a loopback; the function's container joins it;
3. starts the function: RIE starts /opt/extensions/collector as Lambda does, and the runtime
   through the image's exec wrapper (/opt/otel-instrument);
4. invokes it with a known X-Ray trace header, stops it with SIGTERM (the extension gets
   SHUTDOWN and flushes), then reads the traces back with GetTraceSummaries + BatchGetTraces
   and prints them as trees (session.py, traces.py).

`verify-traces` does step 4's lookup against any X-Ray endpoint: AWS after a deploy, or a
stand-in. `sam-local` runs `sam local invoke` against the same stand-ins (sam.py).
"""
