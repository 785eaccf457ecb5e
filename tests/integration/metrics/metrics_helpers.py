"""Reading the Prometheus text format back, and scraping a running endpoint."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def value(text: str, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels` (0 when there are none)."""
    return sum(
        found
        for sample_name, sample_labels, found in samples(text)
        if sample_name == name and labels.items() <= sample_labels.items()
    )


def has(text: str, name: str, **labels: str) -> bool:
    return any(
        sample_name == name and labels.items() <= sample_labels.items()
        for sample_name, sample_labels, _ in samples(text)
    )


def scrape(url: str, **headers: str) -> str:
    response = httpx.get(url, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text
