"""Command line: `python -m localrun invoke` (make local), `verify-traces` (make verify-traces)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from . import backend, project, traces
from .errors import LocalRunError
from .standins import FAULT_MODES

ROOT = Path(__file__).resolve().parent.parent


def _print_traces(
    found: list[traces.Trace], show: int, logs: list[dict[str, Any]] | None = None
) -> int:
    """Print the last ``show`` traces as trees, each with the function's log lines of that
    trace (their xrayTraceId); return the number of invalid documents."""
    bad = 0
    for trace in found:
        for raw in trace.documents:
            problems = traces.document_problems(raw)
            if problems:
                bad += 1
                print(f"  X-Ray would reject a document of {trace.id}: {'; '.join(problems)}")
    for trace in found[-show:] if show else []:
        print(traces.format_tree(trace))
        lines = [r for r in logs or [] if r.get("xrayTraceId") == trace.id]
        if lines:
            print("  log lines of this trace (CloudWatch Logs, joined on xrayTraceId):")
        for record in lines:
            print(f"    {record.get('level', ''):<7} {record.get('message', '')}")
    return bad


def cmd_runner(args: argparse.Namespace) -> int:
    """Print the runner `make local` uses; for Docker, make sure the base image is there."""
    runner = backend.choose(args.runner)
    if runner == "docker":
        from .container import PLATFORMS, ensure_base_image

        ensure_base_image(ROOT / "Dockerfile", PLATFORMS[project.ARCHITECTURE])
    print(runner)
    return 0


def cmd_invoke(args: argparse.Namespace) -> int:
    from .run import run

    runner = backend.choose(args.runner)
    if args.cpus and runner != "docker":
        raise LocalRunError("--cpus limits the function's container: it needs the Docker runner")
    events = [Path(e).read_bytes() for e in args.event]
    for path, data in zip(args.event, events, strict=True):
        try:
            json.loads(data)
        except ValueError as exc:
            raise LocalRunError(f"{path} is not JSON: {exc}") from None
    total = args.count + args.recover
    verbose = total <= 5

    def progress(inv) -> None:
        if verbose:
            kind = "cold" if inv.index == 0 else "warm"
            print(
                f"invocation {inv.index + 1} ({kind}, {inv.phase}): HTTP {inv.status} in "
                f"{inv.latency_ms:.1f} ms: {inv.body}"
            )
        elif (inv.index + 1) % 100 == 0 or inv.index + 1 == total:
            print(f"  {inv.index + 1}/{total} invocations", file=sys.stderr, flush=True)

    result = run(
        ROOT,
        args.build_dir.resolve(),
        events,
        runner=runner,
        image=args.image,
        sampled=not args.unsampled,
        expect_traces=not args.expect_no_traces,
        extra_env=dict(args.env),
        function_options={"cpus": args.cpus} if args.cpus else None,
        count=args.count,
        fault=args.xray_fault,
        recover=args.recover,
        fault_hold_s=args.fault_hold,
        trace_wait_s=args.trace_wait,
        progress=progress,
    )
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(result.as_dict(), indent=1))
    statuses: dict[int, int] = {}
    for inv in result.invocations:
        statuses[inv.status] = statuses.get(inv.status, 0) + 1
    print(
        f"\n{len(result.invocations)} invocations, HTTP status counts {statuses}; cold start "
        f"{result.cold_start_ms:.0f} ms (RIE start to first response)"
    )
    for phase, stats in result.summary().items():
        if stats["warm_p50_ms"] is not None:
            print(
                f"  {phase}: warm p50 {stats['warm_p50_ms']:.1f} ms, "
                f"p99 {stats['warm_p99_ms']:.1f} ms"
            )
    if result.collector_peak_kb:
        print(
            f"collector extension peak RSS {result.collector_peak_kb / 1024:.1f} MiB; "
            f"RIE exit {result.rie_exit_code} after SIGTERM ({result.shutdown_ms:.0f} ms)"
        )
    auth = result.stand_ins.get("otlp", {}).get("auth", [])
    if auth:
        failed = [a for a in auth if not a["ok"]]
        print(
            f"OTLP stand-in: {len(auth)} requests, SigV4 "
            + ("valid on all" if not failed else f"INVALID on {len(failed)}: {failed[0]['reason']}")
        )
    print(
        f"\ntraces read back from the local X-Ray API: {len(result.traces)} of "
        f"{len(result.invocations)} invocations"
        + (f" ({len(result.expected_trace_ids)} expected)" if args.xray_fault != "ok" else "")
    )
    bad = _print_traces(
        result.traces, 1 if args.count + args.recover > 1 else len(result.traces), result.logs
    )
    print(f"\nlogs of RIE, the extension and the function ({runner} runner): {result.log_path}")
    if args.report:
        print(f"report: {args.report}")
    failures = []
    if result.missing:
        failures.append(
            f"{len(result.missing)} expected traces never arrived, e.g. {result.missing[-1]}"
        )
    if bad:
        failures.append(f"{bad} segment documents break X-Ray's rules")
    if any(inv.status != 200 for inv in result.invocations):
        failures.append("some invocations did not answer HTTP 200")
    if auth and not all(a["ok"] for a in auth):
        failures.append("the collector's SigV4 signature did not verify")
    for failure in failures:
        print(f"localrun: {failure}", file=sys.stderr)
    return 1 if failures else 0


def cmd_sam_invoke(args: argparse.Namespace) -> int:
    from .sam import sam_invoke

    return sam_invoke(ROOT, args.build_dir.resolve(), args.event, args.image, args.report)


def cmd_verify(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    credentials = None
    if (
        args.endpoint
        and not os.environ.get("AWS_ACCESS_KEY_ID")
        and not os.environ.get("AWS_PROFILE")
    ):
        from .standins import FAKE_ACCESS_KEY, FAKE_SECRET_KEY

        credentials = {
            "aws_access_key_id": FAKE_ACCESS_KEY,
            "aws_secret_access_key": FAKE_SECRET_KEY,
        }
    client = traces.xray_client(args.region, args.endpoint, credentials)
    end = traces.utcnow()
    start = end - dt.timedelta(minutes=args.since)
    where = args.endpoint or f"X-Ray in {args.region}"
    # AWS filters on the server; the local stand-in (moto) does not implement filter expressions.
    expression = None if args.endpoint else f'service("{args.service}")'
    try:
        found = traces.lookup(
            client,
            start=start,
            end=end,
            trace_ids=args.trace_id or None,
            service=args.service,
            filter_expression=expression,
            limit=args.limit,
        )
    except (BotoCoreError, ClientError) as exc:
        raise LocalRunError(f"reading traces from {where}: {exc}") from None
    if not found:
        print(
            f"no traces of {args.service} in {where} in the last {args.since} minutes "
            "(X-Ray takes up to a minute to index new traces)",
            file=sys.stderr,
        )
        return 1
    print(f"{len(found)} traces of {args.service} in {where} (last {args.since} minutes):")
    bad = _print_traces(found, args.limit)
    return 1 if bad else 0


def _env_pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name, value


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localrun", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    inv = sub.add_parser("invoke", help="run the function under RIE with a local X-Ray")
    inv.add_argument(
        "--event",
        type=Path,
        action="append",
        required=True,
        help="JSON event file (repeat to cycle through several)",
    )
    inv.add_argument("--count", type=int, default=1, help="invocations (default 1)")
    inv.add_argument(
        "--xray-fault",
        choices=FAULT_MODES,
        default="ok",
        help="make the X-Ray stand-in misbehave during the invocations: refuse "
        "connections, answer 500, or hang 10 s",
    )
    inv.add_argument(
        "--recover",
        type=int,
        default=0,
        metavar="N",
        help="after the faulty invocations, heal the stand-in and invoke N more "
        "times; their traces must arrive",
    )
    inv.add_argument(
        "--fault-hold",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="keep the fault at least this long before --recover (default 1)",
    )
    inv.add_argument(
        "--trace-wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for traces to reach the stand-in (default 30)",
    )
    inv.add_argument(
        "--runner",
        choices=backend.RUNNERS,
        help="docker (the image, as Lambda runs it) or sandbox (bubblewrap, no Docker); "
        "default: $LOCAL_RUNNER, else docker when its daemon answers, else sandbox",
    )
    inv.add_argument(
        "--image",
        default=f"{project.FUNCTION_NAME}:latest",
        help=f"the image the Docker runner runs (default {project.FUNCTION_NAME}:latest, what "
        "`make image` builds)",
    )
    inv.add_argument(
        "--unsampled",
        action="store_true",
        help="send trace headers with Sampled=0, as Lambda does for invocations it does not "
        "sample: nothing may be exported",
    )
    inv.add_argument(
        "--cpus",
        type=float,
        help="limit the function's container to this many CPUs (Docker runner), e.g. 0.0723 "
        "for the share Lambda gives 128 MB (1,769 MB = one vCPU)",
    )
    inv.add_argument(
        "--env",
        type=_env_pair,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable for the function and its extension (repeatable)",
    )
    inv.add_argument(
        "--expect-no-traces",
        action="store_true",
        help="the function is not instrumented (benchmarks' bare variant): wait for no traces",
    )
    inv.add_argument("--report", type=Path, help="write everything measured as JSON here")
    inv.add_argument(
        "--build-dir", type=Path, default=ROOT / "build", help="where layer.zip is (default build/)"
    )
    inv.set_defaults(func=cmd_invoke)

    which = sub.add_parser(
        "runner", help="print the runner `make local` uses (docker or sandbox), or why none can"
    )
    which.add_argument("runner", nargs="?", choices=backend.RUNNERS)
    which.set_defaults(func=cmd_runner)

    if project.IAC == "sam":
        sam = sub.add_parser(
            "sam-invoke",
            help="`sam local invoke` (after `sam build`) with the local X-Ray and STS",
        )
        sam.add_argument("--event", type=Path, default=Path("events/sample.json"))
        sam.add_argument(
            "--image",
            default=f"{project.FUNCTION_NAME}:latest",
            help="an image of the function (`make image`): the local stand-ins run in it",
        )
        sam.add_argument("--report", type=Path, help="write the response and traces as JSON here")
        sam.add_argument("--build-dir", type=Path, default=ROOT / "build")
        sam.set_defaults(func=cmd_sam_invoke)

    ver = sub.add_parser("verify-traces", help="read this function's latest traces from X-Ray")
    ver.add_argument("--endpoint", help="X-Ray API endpoint (default: AWS's, for --region)")
    ver.add_argument("--region", default=os.environ.get("AWS_REGION", project.AWS_REGION))
    ver.add_argument("--since", type=int, default=30, metavar="MINUTES")
    ver.add_argument(
        "--service",
        default=project.FUNCTION_NAME,
        help=f"X-Ray service name (default {project.FUNCTION_NAME})",
    )
    ver.add_argument("--trace-id", action="append", help="only this trace (repeatable)")
    ver.add_argument("--limit", type=int, default=3, help="print at most this many (default 3)")
    ver.set_defaults(func=cmd_verify)

    args = parser.parse_args(argv)
    # `kill` (or a CI timeout) unwinds like Ctrl-C, so every process localrun started is stopped.
    signal.signal(signal.SIGTERM, _terminate)
    if getattr(args, "count", 1) < 1:
        parser.error("--count must be at least 1")
    try:
        return args.func(args)
    except LocalRunError as exc:
        print(f"localrun: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("localrun: interrupted; everything it started has been stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
