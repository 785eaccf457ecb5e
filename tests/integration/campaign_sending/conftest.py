"""The send-path tests stand on the campaigns tests' tenants (`world`); `sink` is the recording
SMTP sink (indirectly parametrised: refuse every n-th first attempt with 451)."""

from collections.abc import Iterator

import pytest

from tests.integration.campaign_sending.reliability_helpers import Sink
from tests.integration.campaign_sending.worker_helpers import start_recording_sink
from tests.integration.campaigns.conftest import world

__all__ = ["sink", "world"]


@pytest.fixture
def sink(request: pytest.FixtureRequest) -> Iterator[Sink]:
    controller, handler = start_recording_sink(getattr(request, "param", 0))
    yield Sink(controller, handler)
    controller.stop()
