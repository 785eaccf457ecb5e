"""What the request-latency metrics cost per request: the ASGI wrapper of
adapters/metrics/http_latency.py around a handler that answers at once (as the open pixel does
after its checks), against the same handler bare, in one event loop.

Both of prometheus-client's modes are measured: in-process values (one API process) and the
memory-mapped files of multi-process mode (`openmailer api --workers N`), the latter in a child
process started with PROMETHEUS_MULTIPROC_DIR (the mode is fixed when prometheus_client is
imported). Rounds alternate bare and wrapped and the medians are compared, so a noisy machine
moves both alike. The overhead is also put against the per-request time of the open pixel at
the 9,000 req/s a bare Litestar handler reaches on one process (REFERENCE.md).

    uv run python -m benchmarks.metrics_overhead [--requests N] [--rounds R] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

PIXEL_REQUEST_MICROSECONDS = 1_000_000 / 9_000
_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"image/gif")],
}
_BODY = {"type": "http.response.body", "body": b"GIF89a"}


async def _pixel(scope: Any, receive: Any, send: Any) -> None:
    scope["path_template"] = "/t/o/{token:str}"
    await send(_START)
    await send(_BODY)


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b""}


async def _send(message: Any) -> None:
    return None


async def _per_request_ns(app: Any, requests: int) -> float:
    scope = {"type": "http", "method": "GET", "path": "/t/o/x.gif", "headers": []}
    started = time.perf_counter_ns()
    for _ in range(requests):
        await app(dict(scope), _receive, _send)
    return (time.perf_counter_ns() - started) / requests


def measure(requests: int, rounds: int) -> dict[str, float]:
    from openmailer.adapters.metrics.exposure import multiprocess_mode
    from openmailer.adapters.metrics.http_latency import with_request_metrics

    wrapped = with_request_metrics(_pixel)

    async def run() -> tuple[list[float], list[float]]:
        await _per_request_ns(wrapped, 1000)  # warm: the histogram child is made once
        bare, timed = [], []
        for _ in range(rounds):
            bare.append(await _per_request_ns(_pixel, requests))
            timed.append(await _per_request_ns(wrapped, requests))
        return bare, timed

    bare, timed = asyncio.run(run())
    overhead_us = (statistics.median(timed) - statistics.median(bare)) / 1000
    return {
        "multiprocess": float(multiprocess_mode()),
        "bare_us": round(statistics.median(bare) / 1000, 3),
        "wrapped_us": round(statistics.median(timed) / 1000, 3),
        "overhead_us": round(overhead_us, 3),
        "share_of_a_pixel_request_percent": round(
            100 * overhead_us / PIXEL_REQUEST_MICROSECONDS, 2
        ),
    }


def _in_multiprocess_mode(requests: int, rounds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="om-metrics-bench-") as directory:
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": directory}
        code = (
            "import json, sys; from benchmarks.metrics_overhead import measure; "
            f"sys.stdout.write(json.dumps(measure({requests}, {rounds})))"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        result: dict[str, float] = json.loads(done.stdout)
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000, help="per round (default 20,000)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = {
        "in_process": measure(args.requests, args.rounds),
        "multiprocess_files": _in_multiprocess_mode(args.requests, args.rounds),
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for mode, figures in results.items():
        print(
            f"{mode:>20}: bare {figures['bare_us']:.2f} us, with metrics "
            f"{figures['wrapped_us']:.2f} us per request: +{figures['overhead_us']:.2f} us "
            f"({figures['share_of_a_pixel_request_percent']:.1f}% of a pixel request at "
            f"{PIXEL_REQUEST_MICROSECONDS:.0f} us)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
