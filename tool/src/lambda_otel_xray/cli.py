"""`lambda-otel-xray`: what a service's Makefile runs.

  layer          build build/layer.zip (make layer)
  collector-tidy `go mod tidy` of collector/ against the shipped Go module (after a team changed
                 collector/components.go)
  local          run the function as Lambda runs it, with a local X-Ray; print the trace
                 (make local)
  runner         print the runner `local` uses (docker or sandbox), or why none can
  verify-traces  read the function's latest traces from X-Ray (make verify-traces)
  sam-local      `sam local invoke` against the local X-Ray (make sam-local, SAM services)

Every command reads the service's answers from .copier-answers.yml in the current directory
(or the one given with --service).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from . import __version__
from .errors import ToolError
from .service import Service


def _print_traces(found: list[Any], show: int, logs: list[dict[str, Any]] | None = None) -> int:
    """Print the last ``show`` traces as trees, each with the function's log lines of that
    trace (their xrayTraceId); return the number of invalid documents."""
    from .local import traces

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


def write_page(found: list[Any], logs: list[dict[str, Any]], path: Path, title: str) -> None:
    """The traces as one self-contained HTML page (timeline, trace map, log lines); the path is
    printed so a terminal can open it."""
    from .local.tracepage import write_trace_page

    write_trace_page(found, logs, path, title=title)
    print(f"\ntrace page (open it in a browser): {path}")


def choose_runner(service: Service, requested: str | None = None) -> str:
    """``requested`` (or $LOCAL_RUNNER) if set, else docker when its daemon answers, else the
    sandbox. Raises with what to do when the choice cannot run."""
    from .local import sandbox
    from .local.runners import RUNNERS, docker_problem

    requested = (requested or os.environ.get("LOCAL_RUNNER", "")).strip().lower()
    if requested and requested not in RUNNERS:
        raise ToolError(
            f"LOCAL_RUNNER={requested!r} is not a runner",
            "use docker (the container image) or sandbox (bubblewrap, no Docker), or leave it "
            "unset to pick automatically",
        )
    if requested == "sandbox":
        sandbox.check(service.python_version)
        return "sandbox"
    problem = docker_problem()
    if requested == "docker":
        if problem:
            raise ToolError(f"LOCAL_RUNNER=docker, but {problem}")
        return "docker"
    if problem is None:
        return "docker"
    try:
        sandbox.check(service.python_version)
    except ToolError as exc:
        raise ToolError(
            f"`make local` runs the function's image with Docker, but {problem}.\n"
            f"Without Docker it falls back to a bubblewrap sandbox, which cannot run here: "
            f"{exc.problem}",
            exc.fix,
        ) from None
    return "sandbox"


def cmd_layer(service: Service, args: argparse.Namespace) -> int:
    from .layer.build import Options, build_layer

    out = (args.out or service.build_dir).resolve()
    build_layer(
        service,
        Options(
            out_dir=out,
            cache_dir=(args.cache or out / "cache").resolve(),
            architecture=args.arch,
            python_version=args.python_version,
            force=args.force,
        ),
    )
    return 0


def cmd_collector_tidy(service: Service, args: argparse.Namespace) -> int:
    import tempfile

    from .layer import collector

    go = collector.find_go(collector.go_requirement(service.collector_dir))
    with tempfile.TemporaryDirectory(prefix="collector-tidy-") as staging:
        collector.tidy(go, service.collector_dir, collector.module_dir(), Path(staging))
    print(f"tidied {service.collector_dir / 'go.mod'} and go.sum; now `make layer`")
    return 0


def cmd_runner(service: Service, args: argparse.Namespace) -> int:
    """Print the runner `make local` uses; for Docker, make sure the base image is there."""
    runner = choose_runner(service, args.runner)
    if runner == "docker":
        from .local.container import ensure_base_image

        ensure_base_image(service.dockerfile, service.platform.docker)
    print(runner)
    return 0


def cmd_local(service: Service, args: argparse.Namespace) -> int:
    from .local.session import run

    service = service.in_region(args.region)
    events = []
    for path in args.event:
        try:
            data = Path(path).read_bytes()
            json.loads(data)
        except OSError as exc:
            raise ToolError(
                f"cannot read the event {path}: {exc.strerror}", "give a JSON file"
            ) from None
        except ValueError as exc:
            raise ToolError(f"{path} is not JSON: {exc}", "give an event file in JSON") from None
        events.append(data)
    runner = choose_runner(service, args.runner)
    if args.cpus and runner != "docker":
        raise ToolError("--cpus limits the function's container", "use the Docker runner")
    verbose = args.count <= 5

    def progress(inv: Any) -> None:
        if verbose:
            kind = "cold" if inv.index == 0 else "warm"
            print(
                f"invocation {inv.index + 1} ({kind}): HTTP {inv.status} in "
                f"{inv.latency_ms:.1f} ms: {inv.body}"
            )
        elif (inv.index + 1) % 100 == 0 or inv.index + 1 == args.count:
            print(f"  {inv.index + 1}/{args.count} invocations", file=sys.stderr, flush=True)

    result = run(
        service,
        events,
        runner=runner,
        image=args.image,
        count=args.count,
        sampled=not args.unsampled,
        trace_wait_s=args.trace_wait,
        progress=progress,
        function_options={"cpus": args.cpus} if args.cpus else None,
        build_dir=args.build_dir,
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
    for stats in result.summary().values():
        if stats["warm_p50_ms"] is not None:
            print(f"  warm p50 {stats['warm_p50_ms']:.1f} ms, p99 {stats['warm_p99_ms']:.1f} ms")
    if result.collector_peak_kb:
        print(
            f"collector extension peak RSS {result.collector_peak_kb / 1024:.1f} MiB; "
            f"RIE exit {result.stopped.exit_code} after SIGTERM "
            f"({result.stopped.shutdown_ms:.0f} ms)"
        )
    if result.function_peak_kb:
        container = (
            f"; the container {result.container_peak_kb / 1024:.1f} MiB"
            if result.container_peak_kb
            else ""
        )
        print(
            f"function (runtime) peak RSS {result.function_peak_kb / 1024:.1f} MiB{container}, "
            f"of the function's {service.memory_mb} MB"
        )
    for killed in result.stopped.killed:
        print(f"lambda-otel-xray: the function's environment was killed: {killed}")
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
    )
    bad = _print_traces(result.traces, 1 if args.count > 1 else len(result.traces), result.logs)
    build_dir = (args.build_dir or service.build_dir).resolve()
    write_page(
        result.traces,
        result.logs,
        build_dir / "local" / "traces.html",
        f"{service.function_name}: {len(result.invocations)} local invocation(s)",
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
        print(f"lambda-otel-xray: {failure}", file=sys.stderr)
    return 1 if failures else 0


def cmd_sam_local(service: Service, args: argparse.Namespace) -> int:
    from .local.sam import sam_invoke

    service = service.in_region(args.region)
    return sam_invoke(service, args.event, args.image or service.image, args.report)


def cmd_verify(service: Service, args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from .local import traces
    from .local.standins import FAKE_ACCESS_KEY, FAKE_SECRET_KEY

    credentials = None
    if (
        args.endpoint
        and not os.environ.get("AWS_ACCESS_KEY_ID")
        and not os.environ.get("AWS_PROFILE")
    ):
        credentials = {
            "aws_access_key_id": FAKE_ACCESS_KEY,
            "aws_secret_access_key": FAKE_SECRET_KEY,
        }
    region = args.region or os.environ.get("AWS_REGION") or service.region
    service_name = args.service_name or service.function_name
    client = traces.xray_client(region, args.endpoint, credentials)
    end = traces.utcnow()
    start = end - dt.timedelta(minutes=args.since)
    where = args.endpoint or f"X-Ray in {region}"
    # AWS filters on the server; the local stand-in (moto) does not implement filter expressions.
    expression = None if args.endpoint else f'service("{service_name}")'
    try:
        found = traces.lookup(
            client,
            start=start,
            end=end,
            trace_ids=args.trace_id or None,
            service=service_name,
            filter_expression=expression,
            limit=args.limit,
        )
    except (BotoCoreError, ClientError) as exc:
        raise ToolError(f"reading traces from {where}: {exc}") from None
    if not found:
        print(
            f"no traces of {service_name} in {where} in the last {args.since} minutes "
            "(X-Ray takes up to a minute to index new traces)",
            file=sys.stderr,
        )
        return 1
    print(f"{len(found)} traces of {service_name} in {where} (last {args.since} minutes):")
    bad = _print_traces(found, args.limit)
    write_page(
        found,
        [],
        service.build_dir / "traces.html",
        f"{service_name}: traces of the last {args.since} minutes in {where}",
    )
    return 1 if bad else 0


def parser() -> argparse.ArgumentParser:
    from .local.runners import RUNNERS

    top = argparse.ArgumentParser(
        prog="lambda-otel-xray",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    top.add_argument(
        "--service", type=Path, default=None, help="the service's checkout (default: here)"
    )
    sub = top.add_subparsers(dest="command", required=True)

    layer = sub.add_parser("layer", help="build build/layer.zip")
    layer.add_argument("--arch", choices=["x86_64", "arm64"], help="default: the answer")
    layer.add_argument("--python-version", help="default: the answer")
    layer.add_argument("--out", type=Path, help="default: build/")
    layer.add_argument("--cache", type=Path, help="default: <out>/cache (content-addressed)")
    layer.add_argument("--force", action="store_true", help="rebuild even if up to date")
    layer.set_defaults(func=cmd_layer)

    tidy = sub.add_parser(
        "collector-tidy", help="`go mod tidy` of collector/ against the shipped Go module"
    )
    tidy.set_defaults(func=cmd_collector_tidy)

    local = sub.add_parser("local", help="run the function with a local X-Ray; print the trace")
    local.add_argument(
        "--event",
        type=Path,
        action="append",
        required=True,
        help="JSON event file (repeat to cycle through several)",
    )
    local.add_argument("--count", type=int, default=1, help="invocations (default 1)")
    local.add_argument(
        "--runner",
        choices=RUNNERS,
        help="docker (the image, as Lambda runs it) or sandbox (bubblewrap, no Docker); "
        "default: $LOCAL_RUNNER, else docker when its daemon answers, else sandbox",
    )
    local.add_argument("--image", help="the image the Docker runner runs (default <slug>:latest)")
    local.add_argument(
        "--unsampled",
        action="store_true",
        help="send trace headers with Sampled=0, as Lambda does for invocations it does not "
        "sample: nothing may be exported",
    )
    local.add_argument(
        "--cpus",
        type=float,
        help="limit the function's container to this many CPUs (Docker runner), e.g. 0.0724 "
        "for the share Lambda gives 128 MB (1,769 MB = one vCPU)",
    )
    local.add_argument(
        "--trace-wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for traces to reach the local X-Ray (default 30)",
    )
    local.add_argument(
        "--region",
        help="the region the function runs in (AWS_REGION for it and its extension; default: "
        "the answer aws_region), as `make deploy AWS_REGION=...` would deploy it",
    )
    local.add_argument("--report", type=Path, help="write everything measured as JSON here")
    local.add_argument("--build-dir", type=Path, help="where layer.zip is (default build/)")
    local.set_defaults(func=cmd_local)

    which = sub.add_parser("runner", help="print the runner `local` uses, or why none can")
    which.add_argument("runner", nargs="?", choices=RUNNERS)
    which.set_defaults(func=cmd_runner)

    sam = sub.add_parser("sam-local", help="`sam local invoke` with the local X-Ray and STS")
    sam.add_argument("--event", type=Path, default=Path("events/sample.json"))
    sam.add_argument("--image", help="an image of the function (`make image`)")
    sam.add_argument("--region", help="the region the function runs in (default: the answer)")
    sam.add_argument("--report", type=Path, help="write the response and traces as JSON here")
    sam.set_defaults(func=cmd_sam_local)

    ver = sub.add_parser("verify-traces", help="read this function's latest traces from X-Ray")
    ver.add_argument("--endpoint", help="X-Ray API endpoint (default: AWS's, for --region)")
    ver.add_argument("--region", help="default: $AWS_REGION, else the answer")
    ver.add_argument("--since", type=int, default=30, metavar="MINUTES")
    ver.add_argument("--service-name", help="X-Ray service name (default: the function's)")
    ver.add_argument("--trace-id", action="append", help="only this trace (repeatable)")
    ver.add_argument("--limit", type=int, default=3, help="print at most this many (default 3)")
    ver.set_defaults(func=cmd_verify)
    return top


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "count", 1) < 1:
        parser().error("--count must be at least 1")
    # `kill` (or a CI timeout) unwinds like Ctrl-C, so every process the tool started stops.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        service = Service.load(args.service)
        return args.func(service, args)
    except ToolError as error:
        print(error.render(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: everything this command started has been stopped", file=sys.stderr)
        return 130
