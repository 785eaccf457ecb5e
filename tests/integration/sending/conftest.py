"""Postfix's smtp-sink for the sending tests: started on a free loopback port, dumping each
message, and stopped (its counters read) after the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.sending.postfix_sink import PostfixSink


@pytest.fixture
def postfix_sink() -> Iterator[PostfixSink]:
    sink = PostfixSink(dump=True)
    try:
        yield sink
    finally:
        sink.cleanup()
