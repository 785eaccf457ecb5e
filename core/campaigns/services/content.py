"""What a campaign's batches are rendered from, prepared once per process: the template
version it sends, compiled by sender_rs with the From domain's DKIM keys and the installation's
tracking key; and each recipient's data with its signed unsubscribe and preferences tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from openmailer.core.campaigns.model import Campaign, TemplateSnapshot
from openmailer.core.campaigns.tokens import TokenPurpose, issue_token
from openmailer.core.domains.model import Domain
from openmailer.core.domains.services.signing import signing_keys_for
from openmailer.core.messages.model import domain_of
from openmailer.core.ports.campaign_sending import ClaimedRecipient
from openmailer.core.ports.rendering import (
    CampaignContent,
    CompiledCampaign,
    DkimKey,
    RecipientData,
)
from openmailer.core.sending.policies import sender_domain_ready
from openmailer.core.templates.model import TemplateContent

if TYPE_CHECKING:
    from openmailer.core.campaigns.services.delivery import DeliveryPorts


@dataclass(frozen=True)
class Prepared:
    """A campaign compiled once per process (its template version, DKIM keys, tracking key)."""

    version: int
    compiled: CompiledCampaign
    subject: str
    tracking_key: bytes
    domain_verified: bool


class CompiledCache:
    """Per process: campaigns being sent, by (campaign id, template version)."""

    def __init__(self, size: int = 32) -> None:
        self._entries: dict[tuple[int, int], Prepared] = {}
        self._size = size

    def get(self, key: tuple[int, int]) -> Prepared | None:
        return self._entries.get(key)

    def put(self, key: tuple[int, int], prepared: Prepared) -> None:
        if len(self._entries) >= self._size:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = prepared


async def template_content(
    user_id: int, template_id: int, version: int | None, ports: DeliveryPorts
) -> tuple[int, TemplateContent] | None:
    """The content of `version` (the current one when None): an edit after the start changes
    nothing already started."""
    snapshot = await ports.templates.get(user_id, template_id)
    if snapshot is None:
        return None
    if version is None or version == snapshot.version:
        return snapshot.version, _content_of(snapshot)
    found = await ports.template_versions.version(user_id, template_id, version)
    return None if found is None else (version, found.content)


def _content_of(snapshot: TemplateSnapshot) -> TemplateContent:
    if snapshot.is_html:
        return TemplateContent(
            snapshot.subject, html=snapshot.body, preview_text=snapshot.preview_text
        )
    return TemplateContent(snapshot.subject, text=snapshot.body, preview_text=snapshot.preview_text)


async def sending_domain(campaign: Campaign, ports: DeliveryPorts) -> Domain | None:
    """The campaign's domain (`domain_id`), else the user's domain of its From address."""
    s = campaign.settings
    if s.domain_id is not None:
        found = await ports.domains.get(campaign.user_id, s.domain_id)
        if found is not None:
            return found
    assert s.from_email is not None  # a campaign always has one (check_settings)
    return await ports.domains.find_by_name(campaign.user_id, domain_of(s.from_email))


async def compile_campaign(
    campaign: Campaign, content: TemplateContent, version: int, ports: DeliveryPorts
) -> Prepared:
    """Raises TemplateInvalid when the content cannot be compiled (the start fails the
    campaign)."""
    s = campaign.settings
    assert s.from_email is not None  # a campaign always has one (check_settings)
    sender_domain = domain_of(s.from_email)
    domain = await sending_domain(campaign, ports)
    keys = () if domain is None else signing_keys_for(domain, secret_box=ports.secret_box)
    tracking_key = await ports.tracking_key.get()
    subject = s.subject_line or content.subject
    spec = CampaignContent(
        campaign_id=str(campaign.id),
        subject=subject,
        html=content.html or "",
        text=content.text,
        preview_text=s.preview_text or content.preview_text,
        from_email=s.from_email,
        from_name=s.from_name,
        reply_to=s.reply_to_email,
        list_id=f"campaign-{campaign.id}.{sender_domain}",
        list_name=s.name,
        base_url=ports.base_url,
        tracking_secret=tracking_key,
        track_opens=s.track_opens,
        track_clicks=s.track_clicks,
        list_headers=True,
    )
    dkim = [DkimKey(k.domain, k.selector, k.private_pem) for k in keys]
    compiled = ports.renderer.compile(spec, dkim)
    return Prepared(
        version=version,
        compiled=compiled,
        subject=subject,
        tracking_key=tracking_key,
        domain_verified=sender_domain_ready(domain, outbox_only=False),
    )


def recipient_data(row: ClaimedRecipient, tracking_key: bytes) -> RecipientData:
    return RecipientData(
        tracking_id=row.tracking_id,
        email=row.email,
        unsubscribe_token=issue_token(tracking_key, TokenPurpose.UNSUBSCRIBE, row.tracking_id),
        preferences_token=issue_token(tracking_key, TokenPurpose.PREFERENCES, row.tracking_id),
        first_name=row.first_name,
        last_name=row.last_name,
        custom=dict(row.custom),
    )
