"""The campaign benchmark's platform: one user with a VERIFIED domain, an SMTP provider pointing at
smtp-sink, the 20 KB template, a base of contacts and an earlier campaign already sent to all of
them (its recipients and email logs), so that each measured campaign runs in a database that
already holds a working account's history, not in empty tables; then one list per measured size.

Everything is generated set-based (`INSERT … SELECT generate_series`), not sent: an earlier
campaign sent for real would take longer than the measurement.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from benchmarks.workload import SUBJECT, html_template
from openmailer.adapters.bootstrap import DatabaseResources, build_user_admin
from openmailer.adapters.crypto.dkim_keys import CryptographyDkimKeyGenerator
from openmailer.adapters.crypto.secret_box import AesGcmSecretBox
from openmailer.adapters.db.domains import SqlAlchemyDomainRepository
from openmailer.adapters.db.engine import create_engine
from openmailer.adapters.db.providers import SqlAlchemyProviderRepository
from openmailer.adapters.settings import load_settings
from openmailer.core.accounts.model import Principal
from openmailer.core.domains.keys import SigningKeyMaterial
from openmailer.core.domains.services import domains
from openmailer.core.domains.services.signing import signing_keys_for
from openmailer.core.ports.sending import NewProviderRecord
from openmailer.core.sending.services.providers import CONFIGURATION_COLUMN

DOMAIN_NAME = "bench-campaign.example"


@dataclass
class Platform:
    user_id: int
    domain_id: int
    template_id: int
    keys: tuple[SigningKeyMaterial, ...]
    contacts: int
    history_seconds: float  # generating the contacts and the earlier campaign


class _Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


async def _account(url: str, env: dict[str, str], sink_port: int) -> tuple[int, int, Any]:
    """The user, its verified domain and its SMTP provider, through the platform's services."""
    settings = load_settings(env)
    engine = create_engine(url, connect_args={"command_timeout": 900})
    database = DatabaseResources(settings, engine)
    box = AesGcmSecretBox(settings.secret_keys)
    try:
        user = await build_user_admin(database).create_user(
            "bench", "bench@example.com", "a long password"
        )
        domain = await domains.add_domain(
            Principal(user=user, scopes=frozenset()),
            DOMAIN_NAME,
            domains=SqlAlchemyDomainRepository(engine),
            keys=CryptographyDkimKeyGenerator(),
            secret_box=box,
            clock=_Clock(),
        )
        configuration = json.dumps(
            {"host": "127.0.0.1", "port": sink_port, "use_tls": False, "pool_size": 8}
        ).encode()
        await SqlAlchemyProviderRepository(engine).add(
            NewProviderRecord(
                user_id=user.id,
                provider_type="SMTP",
                provider_name="smtp-sink",
                is_active=True,
                is_default=True,
                priority=0,
                daily_limit=None,
                monthly_limit=None,
            ),
            seal=lambda row_id: box.seal(configuration, row_id=row_id, **CONFIGURATION_COLUMN),
        )
        stored = await SqlAlchemyDomainRepository(engine).get(user.id, domain.id)
        assert stored is not None
        return user.id, domain.id, signing_keys_for(stored, secret_box=box)
    finally:
        await engine.dispose()


_CONTACTS = """
INSERT INTO contacts (user_id, email, status, first_name, custom_fields, created_at)
SELECT $1, 'reader' || i || '@bench.example', 'SUBSCRIBED', 'Reader' || i,
       jsonb_build_object('city', 'Lyon', 'plan', CASE WHEN i % 20 = 0 THEN 'gold' ELSE 'free' END),
       timezone('UTC', now()) - interval '30 days'
FROM generate_series(1, $2) AS i
"""

# The earlier campaign: sent a week ago to every contact, each recipient SENT with its log row.
_EARLIER_RECIPIENTS = """
INSERT INTO campaign_recipients (campaign_id, contact_id, status, sent_at, tracking_id)
SELECT $1::bigint, id, 'SENT', timezone('UTC', now()) - interval '7 days',
       $1::text || '-' || replace(gen_random_uuid()::text, '-', '')
FROM contacts WHERE user_id = $2
"""
_EARLIER_LOGS = """
INSERT INTO email_logs (user_id, campaign_id, recipient_id, provider_id, email_type,
                        recipient_email, subject, status, provider_message_id, sent_at)
SELECT $1, r.campaign_id, r.id, $3, 'CAMPAIGN', c.email, $4, 'SENT', r.tracking_id, r.sent_at
FROM campaign_recipients r JOIN contacts c ON c.id = r.contact_id
WHERE r.campaign_id = $2
"""


async def build_platform(url: str, env: dict[str, str], sink_port: int, contacts: int) -> Platform:
    user_id, domain_id, keys = await _account(url, env, sink_port)
    conn = await asyncpg.connect(url, command_timeout=900)
    try:
        await conn.execute(
            "UPDATE domains SET status = 'VERIFIED', spf_verified = true, "
            "dkim_verified = true WHERE id = $1",
            domain_id,
        )
        await conn.execute(
            "UPDATE users SET monthly_email_limit = 1000000000 WHERE id = $1", user_id
        )
        template_id = await conn.fetchval(
            "INSERT INTO email_templates (name, subject, body, created_by) "
            "VALUES ('bench', $1, $2, $3) RETURNING id",
            SUBJECT,
            html_template(),
            user_id,
        )
        started = datetime.now(UTC)
        await conn.execute(_CONTACTS, user_id, contacts)
        provider_id = await conn.fetchval(
            "SELECT id FROM email_providers WHERE user_id = $1", user_id
        )
        earlier = await conn.fetchval(
            "INSERT INTO email_campaigns (name, template_id, created_by, from_email, from_name, "
            "domain_id, status, total_recipients, sent_count, sent_at, template_version) "
            "VALUES ('earlier', $1, $2, $3, 'Acme News', $4, 'SENT', $5, $5, "
            "timezone('UTC', now()) - interval '7 days', 1) RETURNING id",
            template_id,
            user_id,
            f"news@{DOMAIN_NAME}",
            domain_id,
            contacts,
        )
        await conn.execute(_EARLIER_RECIPIENTS, earlier, user_id)
        await conn.execute(_EARLIER_LOGS, user_id, earlier, provider_id, SUBJECT)
        await conn.execute("VACUUM ANALYZE")
        history = (datetime.now(UTC) - started).total_seconds()
    finally:
        await conn.close()
    return Platform(user_id, domain_id, template_id, keys, contacts, history)


async def add_campaign(url: str, platform: Platform, recipients: int) -> int:
    """A list of the first `recipients` contacts (each size's list overlaps the smaller ones',
    as a real account's lists do) and a DRAFT campaign to it."""
    conn = await asyncpg.connect(url, command_timeout=900)
    try:
        list_id = await conn.fetchval(
            "INSERT INTO contact_lists (user_id, name) VALUES ($1, $2) RETURNING id",
            platform.user_id,
            f"first {recipients}",
        )
        await conn.execute(
            "INSERT INTO contact_list_memberships (contact_id, list_id, status) "
            "SELECT id, $2, 'ACTIVE' FROM contacts WHERE user_id = $1 ORDER BY id LIMIT $3",
            platform.user_id,
            list_id,
            recipients,
        )
        campaign_id: int = await conn.fetchval(
            "INSERT INTO email_campaigns (name, template_id, created_by, from_email, "
            "from_name, domain_id, list_id, send_speed) "
            "VALUES ($1, $2, $3, $4, 'Acme News', $5, $6, 10000) RETURNING id",
            f"bench {recipients}",
            platform.template_id,
            platform.user_id,
            f"news@{DOMAIN_NAME}",
            platform.domain_id,
            list_id,
        )
        await conn.execute("ANALYZE contact_list_memberships")
        return campaign_id
    finally:
        await conn.close()
