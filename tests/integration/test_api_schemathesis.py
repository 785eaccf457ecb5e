"""schemathesis, every check, against the app's own OpenAPI document, served in-process.

The app runs under uvicorn in a thread of this process (its own event loop and lifespan). Every
case gets a fresh session of one administrator, so a case that logs out cannot take the
credential away from the cases after it (and one user owns what the cases create).
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
import uvicorn
from schemathesis import Case
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events

from openmailer.adapters.bootstrap import build_accounts, open_resources
from openmailer.adapters.http.app import create_app
from openmailer.adapters.settings import Settings
from tests.integration.accounts.accounts_helpers import make_user, session_for

pytestmark = [pytest.mark.integration, pytest.mark.contract]

TOKENS_TO_PREPARE = 300
MAX_EXAMPLES = 40
# 422 is "well-formed but not acceptable now" (an expiry in the past, a password over 72 bytes
# of UTF-8): valid by the schema, refused by a rule the schema cannot state. No 5xx is accepted.
ACCEPTED_FOR_VALID_DATA = ["2xx", "401", "403", "404", "409", "422", "429"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live_api(accounts_settings: Settings) -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(
        create_app(accounts_settings, password_rounds=4),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def admin_tokens(accounts_settings: Settings, live_api: str) -> list[str]:
    async def prepare() -> list[str]:
        async with open_resources(accounts_settings) as resources:
            accounts = build_accounts(resources, password_rounds=4).ports
            admin = await make_user(accounts, admin=True)
            return [(await session_for(accounts, admin)).token for _ in range(TOKENS_TO_PREPARE)]

    return asyncio.run(prepare())


class FreshAdminSession:
    """schemathesis auth provider: each case a new session token of the same administrator."""

    def __init__(self, tokens: Iterator[str]) -> None:
        self._tokens = tokens

    def get(self, case: Case, context: object) -> str:
        return next(self._tokens)

    def set(self, case: Case, data: str, context: object) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def describe(event: events.ScenarioFinished) -> str:
    lines = []
    for check_list in event.recorder.checks.values():
        for check in check_list:
            if check.status == Status.FAILURE and check.failure_info is not None:
                failure = check.failure_info.failure
                lines.append(f"{check.name}: {failure.title} {failure.message}"[:600])
                lines.append("  " + check.failure_info.code_sample[:600])
    return "\n".join(lines) or repr(event.status)


def test_api_conforms_to_its_schema(live_api: str, admin_tokens: list[str]) -> None:
    config = SchemathesisConfig.from_dict(
        {
            "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED_FOR_VALID_DATA}},
            "generation": {"max-examples": MAX_EXAMPLES},
        }
    )
    schema = schemathesis.openapi.from_url(f"{live_api}/schema/openapi.json", config=config)
    tokens = itertools.cycle(admin_tokens)

    class FromPreparedTokens(FreshAdminSession):
        def __init__(self) -> None:
            super().__init__(tokens)

    schema.auth(refresh_interval=None)(FromPreparedTokens)
    problems: list[str] = []
    scenarios = 0
    statuses: Counter[int] = Counter()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            scenarios += 1
            for interaction in event.recorder.interactions.values():
                if interaction.response is not None:
                    statuses[interaction.response.status_code] += 1
            if event.status in (Status.FAILURE, Status.ERROR):
                problems.append(f"{event.label}: {describe(event)}")
        elif isinstance(event, events.NonFatalError | events.FatalError):
            problems.append(f"error: {event!r} {getattr(event, 'info', '')}"[:800])
    assert scenarios >= 10
    # The credential works: most operations were reached, not refused at the door.
    assert sum(n for status, n in statuses.items() if 200 <= status < 300) > 50, statuses
    assert not problems, "\n".join(problems)
