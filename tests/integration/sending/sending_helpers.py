"""Helpers for the sending tests: providers and outbox messages made directly."""

from __future__ import annotations

from litestar import Litestar

from openmailer.adapters.db.outbox import SqlAlchemyOutboxStore
from openmailer.adapters.db.providers import SqlAlchemyProviderRepository
from openmailer.core.accounts.model import Principal, User
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.ports.sending import NewProviderRecord
from openmailer.core.sending.contract import OutgoingMessage
from openmailer.core.sending.model import NewOutboxMessage
from openmailer.core.sending.service import SendingService
from openmailer.core.sending.services.providers import CONFIGURATION_COLUMN
from tests.integration.accounts.accounts_helpers import engine_of


def sending_of(app: Litestar) -> SendingService:
    sending: SendingService = app.state.services["sending"]
    return sending


def principal_of(user: User) -> Principal:
    return Principal(user=user, scopes=frozenset())


def raw_message(recipient: str, number: int = 1) -> OutgoingMessage:
    raw = (
        f"From: news@example.com\r\nTo: {recipient}\r\nSubject: Issue {number}\r\n"
        f"Message-ID: <issue{number}@example.com>\r\nDKIM-Signature: v=1; a=ed25519-sha256\r\n"
        f"\r\nHello {number} \u00e9\r\n"
    ).encode()
    return OutgoingMessage(
        message_id=f"<issue{number}@example.com>",
        sender="bounces@example.com",
        recipients=(recipient,),
        subject=f"Issue {number}",
        raw=raw,
    )


async def foreign_provider(accounts: Accounts, owner: User) -> int:
    record = NewProviderRecord(
        user_id=owner.id,
        provider_type="OUTBOX",
        provider_name="theirs",
        is_active=True,
        is_default=False,
        priority=0,
        daily_limit=None,
        monthly_limit=None,
    )
    # Sealed for real: key rotation, run later in the same database, opens every configuration.
    provider = await SqlAlchemyProviderRepository(engine_of(accounts)).add(
        record,
        seal=lambda row_id: accounts.secret_box.seal(b"{}", row_id=row_id, **CONFIGURATION_COLUMN),
    )
    return provider.id


async def foreign_outbox_message(accounts: Accounts, owner: User) -> int:
    (outbox_id,) = await SqlAlchemyOutboxStore(engine_of(accounts)).add(
        [
            NewOutboxMessage(
                user_id=owner.id,
                recipient="them@example.org",
                subject="theirs",
                message_id="<theirs@example.com>",
                raw=b"Subject: theirs\r\n\r\nprivate\r\n",
            )
        ]
    )
    return outbox_id
