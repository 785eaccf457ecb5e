"""Helpers of the messages tests: senders, verified domains, SMTP providers, sends."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from openmailer.adapters.db.email_logs import SqlAlchemyEmailLogStore
from openmailer.core.accounts.model import User
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.messages.model import NewEmailLog
from tests.dns_server import Zone
from tests.integration.accounts.accounts_helpers import Caller, api_key_for, make_user
from tests.integration.domains.domains_helpers import unique_domain_name
from tests.integration.domains.test_domains_api import create, publish_all
from tests.integration.sending.sending_helpers import engine_of
from tests.integration.sending.smtp_sink import PASSWORD, USER

SCOPES = ["send:campaigns", "read:analytics", "read:campaigns", "write:campaigns"]


async def sender(accounts: Accounts, *, test: bool = False, user: User | None = None) -> Caller:
    owner = user if user is not None else await make_user(accounts)
    return await api_key_for(accounts, owner, SCOPES, test=test)


async def verified_domain(client: httpx.AsyncClient, who: Caller, zone: Zone) -> dict[str, Any]:
    body = (await create(client, who, unique_domain_name("tx"))).json()
    publish_all(zone, body)
    report = (await client.post(f"/api/v1/domains/{body['id']}/verify", headers=who.headers)).json()
    assert report["domain"]["status"] == "VERIFIED", report
    return body


async def smtp_provider(client: httpx.AsyncClient, who: Caller, port: int) -> int:
    response = await client.post(
        "/api/v1/providers",
        headers=who.headers,
        json={
            "provider_type": "SMTP",
            "provider_name": "relay",
            "is_default": True,
            "configuration": {
                "host": "127.0.0.1",
                "port": port,
                "username": USER,
                "password": PASSWORD,
                "use_tls": False,
                "timeout_seconds": 5,
            },
        },
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def message_body(
    domain: str, to: str | list[str] = "ada@example.net", **extra: Any
) -> dict[str, Any]:
    return {
        "from_email": f"orders@{domain}",
        "from_name": "Acme Orders",
        "to": to,
        "subject": "Order {{ custom.order }}",
        "html": "<p>Thanks, {{ custom.name }}: order {{ custom.order }} ships today.</p>",
        "text": "Thanks, {{ custom.name }}: order {{ custom.order }} ships today.",
        "variables": {"name": "Ada", "order": 42},
        **extra,
    }


async def send(
    client: httpx.AsyncClient, who: Caller, body: dict[str, Any], *, key: str | None = None
) -> httpx.Response:
    headers = dict(who.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await client.post("/api/v1/messages", headers=headers, json=body)


async def set_monthly_limit(accounts: Accounts, user: User, limit: int, sent: int = 0) -> None:
    async with engine_of(accounts).begin() as conn:
        await conn.execute(
            text(
                "UPDATE users SET monthly_email_limit = :l, monthly_emails_sent = :s WHERE id = :i"
            ),
            {"l": limit, "s": sent, "i": user.id},
        )


async def scalar(accounts: Accounts, sql: str, **params: Any) -> Any:
    async with engine_of(accounts).connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def foreign_message(accounts: Accounts, owner: User) -> int:
    """A transactional message of `owner` (for the every-route walk)."""
    entry = await SqlAlchemyEmailLogStore(engine_of(accounts)).add(
        NewEmailLog(
            user_id=owner.id,
            email_type="TRANSACTIONAL",
            recipient_email="them@example.org",
            subject="theirs",
            status="SENT",
        )
    )
    return entry.id
