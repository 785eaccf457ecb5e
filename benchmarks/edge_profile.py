"""The tracking endpoints' cost inside the API process, without HTTP or a load generator.

The real app (its lifespan, PostgreSQL, Redis, the JSON access log written to a file) and the
bare Litestar pixel of `benchmarks/bare_pixel.py` are called as uvicorn calls them, through
ASGI, by 16 concurrent tasks in one event loop, each request with its own `X-Forwarded-For` (the
app trusting loopback as its proxy), as `benchmarks/tracking.py`'s load does. It gives the CPU
microseconds per request of each, which the machine's other work disturbs far less than a
throughput run, and with `--profile pixel|click` the functions the time goes to.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import pstats
import random
import tempfile
import time
from typing import Any

from benchmarks.bare_pixel import create_bare_app
from benchmarks.tracking import seeded_platform
from openmailer.adapters.http.app import create_app, make_lifespan

CONCURRENCY = 16
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
EXPECTED = {"bare": 200, "pixel": 200, "click": 302}


def scope_of(path: str) -> dict[str, Any]:
    """What uvicorn (httptools) hands the app for a reader's GET."""
    forwarded = f"10.{random.randrange(256)}.{random.randrange(256)}.7"
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": "GET",
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"user-agent", BROWSER.encode()),
            (b"accept-encoding", b"gzip, deflate"),
            (b"accept", b"*/*"),
            (b"x-forwarded-for", forwarded.encode()),
        ],
        "state": {},
    }


async def drive(app: Any, paths: list[str], requests: int, expected: int) -> float:
    """CPU seconds for `requests` requests spread over CONCURRENCY tasks."""
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def reader(count: int) -> None:
        for _ in range(count):

            async def send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    statuses.append(message["status"])

            await app(scope_of(random.choice(paths)), receive, send)

    started = time.process_time()
    await asyncio.gather(*(reader(requests // CONCURRENCY) for _ in range(CONCURRENCY)))
    elapsed = time.process_time() - started
    wrong = [status for status in statuses if status != expected]
    if wrong:
        raise RuntimeError(f"{len(wrong)} answers were not {expected}: {sorted(set(wrong))}")
    return elapsed


async def measure(requests: int, profile: str | None) -> dict[str, Any]:
    figures: dict[str, Any] = {"requests_per_target": requests, "concurrency": CONCURRENCY}
    async with seeded_platform("om_bench_edge", 200) as platform:
        settings, paths = platform.settings, platform.paths
        app = create_app(settings)
        access_log = tempfile.TemporaryFile("w")  # noqa: SIM115 (closed below)
        for handler in logging.getLogger("openmailer").handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(access_log)
        bare = create_bare_app()
        async with make_lifespan(settings)(app):
            for target, target_app, pool in (
                ("bare", bare, paths["pixel"]),
                ("pixel", app, paths["pixel"]),
                ("click", app, paths["click"]),
            ):
                await drive(target_app, pool, CONCURRENCY * 20, EXPECTED[target])  # warm up
                profiler = cProfile.Profile() if profile == target else None
                if profiler:
                    profiler.enable()
                seconds = await drive(target_app, pool, requests, EXPECTED[target])
                if profiler:
                    profiler.disable()
                    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
                figures[target] = {"cpu_us_per_request": round(seconds / requests * 1e6, 1)}
        access_log.close()
        for target in ("pixel", "click"):
            figures[target]["fraction_of_bare"] = round(
                figures["bare"]["cpu_us_per_request"] / figures[target]["cpu_us_per_request"], 3
            )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4,000 requests per target")
    parser.add_argument("--json", action="store_true", help="one JSON object as the last line")
    parser.add_argument("--profile", choices=("bare", "pixel", "click"), help="cProfile one")
    args = parser.parse_args()
    requests = 4_000 if args.quick else 32_000
    figures = asyncio.run(measure(requests, args.profile))
    for target in ("bare", "pixel", "click"):
        line = f"{target}: {figures[target]['cpu_us_per_request']} CPU us per request"
        if target != "bare":
            line += f" ({figures[target]['fraction_of_bare']:.0%} of bare's rate)"
        print(line)
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
