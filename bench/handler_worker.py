"""One function process for bench/python_overhead.py (standard library only: it runs in the
stand-in Lambda runtime's Python, not the benchmark's).

    python handler_worker.py MODULE INVOCATIONS

Imports boto3 first (the runtime and every handler load it, instrumented or not), then MODULE,
timed: that import is the function's init. Then calls MODULE.lambda_handler INVOCATIONS times
the way the runtime does (a Lambda context object, a fresh _X_AMZN_TRACE_ID each time). Prints
one JSON line: init wall and CPU ms, and each invocation's latency in ms.
"""

from __future__ import annotations

import json
import os
import sys
import time

import boto3  # noqa: F401  (loaded before the clock starts, as in the runtime)


class LambdaContext:
    function_name = "order-service"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:order-service"
    memory_limit_in_mb = 512
    log_group_name = "/aws/lambda/order-service"
    log_stream_name = "2026/12/01/[$LATEST]0123456789abcdef"
    aws_request_id = ""

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def main() -> None:
    module_name, count = sys.argv[1], int(sys.argv[2])
    started, cpu = time.perf_counter(), time.process_time()
    module = __import__(module_name)
    init_ms = (time.perf_counter() - started) * 1000
    init_cpu_ms = (time.process_time() - cpu) * 1000
    context = LambdaContext()
    latencies = []
    for i in range(count):
        root = f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"
        os.environ["_X_AMZN_TRACE_ID"] = f"Root={root};Parent={os.urandom(8).hex()};Sampled=1"
        context.aws_request_id = f"bench-{i}"
        started = time.perf_counter()
        result = module.lambda_handler({"name": "Ada"}, context)
        latencies.append((time.perf_counter() - started) * 1000)
        if result.get("statusCode") != 200:
            raise SystemExit(f"invocation {i} answered {result}")
    print(json.dumps({"init_ms": init_ms, "init_cpu_ms": init_cpu_ms, "latency_ms": latencies}))


if __name__ == "__main__":
    main()
