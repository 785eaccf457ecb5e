"""The request-latency wrapper: the route template (types dropped) as the label, never a raw
path; unknown methods folded into `other`; a failing app still observed, as a 500."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import REGISTRY

from openmailer.adapters.metrics.http_latency import observation_of, with_request_metrics

pytestmark = pytest.mark.unit
NAME = "openmailer_http_request_duration_seconds_count"


def count(**labels: str) -> float:
    return REGISTRY.get_sample_value(NAME, labels) or 0.0


def routed(template: str | None, status: int, *, fail: bool = False) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if template is not None:
            scope["path_template"] = template  # what Litestar's router does
        if fail:
            raise RuntimeError("handler broke")
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app


async def call(app: Any, method: str = "GET", path: str = "/") -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "http", "method": method, "path": path, "headers": []}, receive, send)
    return sent


async def test_a_request_is_observed_under_its_route_template() -> None:
    labels = {"route": "/unit/things/{thing_id}", "method": "POST", "status": "201"}
    before = count(**labels)
    app = with_request_metrics(routed("/unit/things/{thing_id:int}", 201))
    sent = await call(app, "POST", "/unit/things/42")
    assert sent[0]["status"] == 201  # the response passes through untouched
    assert count(**labels) == before + 1
    assert REGISTRY.get_sample_value(NAME, {**labels, "route": "/unit/things/42"}) is None


async def test_unmatched_paths_and_odd_methods_keep_the_labels_bounded() -> None:
    labels = {"route": "unmatched", "method": "other", "status": "405"}
    before = count(**labels)
    app = with_request_metrics(routed(None, 405))
    await call(app, "BREW", "/scanner/probe-1")
    await call(app, "PURGE", "/scanner/probe-2")
    assert count(**labels) == before + 2
    assert observation_of("", "BREW", 405) is observation_of("", "PURGE", 405)


async def test_a_request_whose_app_fails_counts_as_a_500() -> None:
    labels = {"route": "/unit/broken", "method": "GET", "status": "500"}
    before = count(**labels)
    with pytest.raises(RuntimeError):
        await call(with_request_metrics(routed("/unit/broken", 200, fail=True)))
    assert count(**labels) == before + 1


async def test_other_scopes_pass_through_unobserved() -> None:
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    await with_request_metrics(app)({"type": "lifespan"}, None, None)
    assert seen == ["lifespan"]
