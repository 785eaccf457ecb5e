"""The long-running processes: `api`, `worker` and `scheduler`. Each scales out on its own."""

from __future__ import annotations

import argparse
import os
import sys

from openmailer.adapters.bootstrap import require_service_urls
from openmailer.adapters.settings import load_settings

WORKER_MODULE = "openmailer.adapters.workers.main"
WORKER_METRICS_SERVER = "openmailer.adapters.metrics.worker:serve_worker_metrics"
# dramatiq's own name for it, lower case as dramatiq spells it.
PREFETCH_VARIABLE = "dramatiq_queue_prefetch"


def register_api(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    api = subparsers.add_parser("api", help="serve the HTTP API (uvicorn)")
    api.add_argument("--host", help="bind address (default OPENMAILER_API_HOST)")
    api.add_argument("--port", type=int, help="port (default OPENMAILER_API_PORT)")
    api.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    api.set_defaults(handler=run_api)


def register_worker(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = subparsers.add_parser("worker", help="run a dramatiq worker (any number may run)")
    worker.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    worker.add_argument("--threads", type=int, default=8)
    worker.add_argument(
        "--prefetch",
        type=int,
        metavar="N",
        help="messages of a queue one process holds at once, running ones included (default: "
        "dramatiq_queue_prefetch from the environment, else half the threads)",
    )
    worker.add_argument(
        "--shutdown-timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="how long a stopping worker waits for its jobs to finish (default 600)",
    )
    worker.set_defaults(handler=run_worker)


def register_scheduler(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    scheduler = subparsers.add_parser("scheduler", help="run the scheduler (periodic jobs)")
    scheduler.set_defaults(handler=run_scheduler)


def run_api(args: argparse.Namespace) -> int:
    import uvicorn

    settings = load_settings()
    require_service_urls(settings)
    port = args.port or settings.api_port
    if args.workers > 1:
        from openmailer.adapters.metrics.exposure import use_fresh_directory

        # uvicorn starts its workers afresh, so they inherit this: their samples go to one
        # directory for /metrics to sum (adapters/metrics/exposure.py). One process keeps them
        # in its own memory.
        use_fresh_directory(settings.metrics_directory / f"api-{port}")
    uvicorn.run(
        "openmailer.adapters.http.app:create_app",
        factory=True,
        host=args.host or settings.api_host,
        port=port,
        workers=args.workers,
        log_level=settings.log_level.lower(),
        # The app reads X-Forwarded-For itself, from OPENMAILER_TRUSTED_PROXIES only; uvicorn's
        # default would believe any local process (adapters/http/client_address.py).
        proxy_headers=False,
        access_log=False,  # the app writes one structured JSON line per request
        server_header=False,
    )
    return 0


def run_worker(args: argparse.Namespace) -> int:
    settings = load_settings()
    require_service_urls(settings)
    command = [
        sys.executable,
        "-m",
        "dramatiq",
        WORKER_MODULE,
        "--processes",
        str(args.processes),
        "--threads",
        str(args.threads),
        "--worker-shutdown-timeout",
        str(int(args.shutdown_timeout * 1000)),
    ]
    # dramatiq's own default, twice the threads, lets the first process to poll take every lane
    # of a campaign (a batch runs for hundreds of milliseconds) while the other, finding the
    # queue empty, backs off for seconds: one process's event loop and GIL did most of the work
    # in the campaign benchmark. dramatiq reads the variable when the exec'd process imports it.
    os.environ[PREFETCH_VARIABLE] = str(worker_prefetch(args.prefetch, args.threads))
    port = settings.worker_metrics_port
    if port is not None:
        from openmailer.adapters.metrics.exposure import use_fresh_directory

        # Every worker process writes its samples to the one directory (the variable reaches
        # them through exec and fork); one more process forked by dramatiq serves their sum.
        use_fresh_directory(settings.metrics_directory / f"worker-{port}")
        command += ["--fork-function", WORKER_METRICS_SERVER]
    # dramatiq's own CLI supervises the worker processes and handles SIGTERM gracefully.
    os.execv(sys.executable, command)  # does not return


def worker_prefetch(given: int | None, threads: int) -> int:
    if given is not None:
        if given < 1:
            raise SystemExit("--prefetch must be at least 1")
        return given
    inherited = os.environ.get(PREFETCH_VARIABLE, "")
    if inherited.isdigit() and int(inherited) > 0:
        return int(inherited)
    return max(1, threads // 2)


def run_scheduler(args: argparse.Namespace) -> int:
    from openmailer.adapters.workers.scheduler import run_forever

    return run_forever(load_settings())
