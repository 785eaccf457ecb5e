"""Fixtures for integration tests that need databases of their own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest


@pytest.fixture
def empty_database_url(
    temporary_databases: Callable[[str], AbstractContextManager[str]],
) -> Iterator[str]:
    """A new empty database for this test alone, dropped after it."""
    with temporary_databases("empty") as url:
        yield url
