"""`MessageRenderer` implemented with the `sender_rs` extension."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sender_rs
from openmailer.core.ports.rendering import (
    CampaignContent,
    DkimKey,
    OutputKind,
    RecipientData,
    RenderedMessage,
    RenderedParts,
    RenderError,
    RenderOutcome,
    SigningProfile,
    TemplateInvalid,
    TrackedLink,
)


@dataclass(frozen=True, slots=True)
class NativeCompiledCampaign:
    template: sender_rs.CompiledTemplate
    keys: tuple[sender_rs.SigningKey, ...]
    links: tuple[TrackedLink, ...]

    @property
    def campaign_id(self) -> str:
        return self.template.campaign_id


class SenderRsMessageRenderer:
    def __init__(self, *, threads: int | None = None) -> None:
        self._threads = threads

    def compile(
        self, content: CampaignContent, keys: Sequence[DkimKey] = ()
    ) -> NativeCompiledCampaign:
        try:
            template = sender_rs.compile_template(content)
            parsed = tuple(
                sender_rs.SigningKey.from_pem(k.domain, k.selector, k.private_key_pem) for k in keys
            )
        except sender_rs.TemplateError as e:
            raise TemplateInvalid(str(e), e.part, e.line, e.column) from e
        except ValueError as e:
            raise TemplateInvalid(str(e)) from e
        links = tuple(TrackedLink(link.index, link.url) for link in template.links)
        return NativeCompiledCampaign(template, parsed, links)

    def render_batch(
        self,
        campaign: Any,
        recipients: Sequence[RecipientData],
        *,
        output: OutputKind = "mime",
        profile: SigningProfile = "default",
        timestamp: int | None = None,
    ) -> list[RenderOutcome]:
        if not isinstance(campaign, NativeCompiledCampaign):
            raise TypeError("campaign was not compiled by SenderRsMessageRenderer")
        outcomes: list[RenderOutcome] = []
        native: list[sender_rs.Recipient] = []
        slots: list[int] = []
        for i, r in enumerate(recipients):
            try:
                native.append(
                    sender_rs.Recipient(
                        r.tracking_id,
                        r.email,
                        unsubscribe_token=r.unsubscribe_token,
                        first_name=r.first_name,
                        last_name=r.last_name,
                        custom=dict(r.custom),  # type: ignore[arg-type]
                        preferences_token=r.preferences_token,
                    )
                )
                slots.append(i)
            except (TypeError, ValueError, OverflowError) as e:
                outcomes.append(RenderError(r.tracking_id, str(e)))
        rendered = sender_rs.render_batch(
            campaign.template,
            native,
            campaign.keys,
            output=output,
            profile=profile,
            timestamp=timestamp,
            threads=self._threads,
        )
        by_index: dict[int, RenderOutcome] = {}
        for i, res in zip(slots, rendered, strict=True):
            by_index[i] = _to_port(res)
        bad = iter(outcomes)
        return [by_index[i] if i in by_index else next(bad) for i in range(len(recipients))]


def _to_port(
    res: sender_rs.RenderedMessage | sender_rs.RenderedParts | sender_rs.RenderFailure,
) -> RenderOutcome:
    if isinstance(res, sender_rs.RenderedMessage):
        return RenderedMessage(res.tracking_id, res.message_id, res.data, res.subject)
    if isinstance(res, sender_rs.RenderedParts):
        return RenderedParts(
            res.tracking_id, res.message_id, res.subject, res.html, res.text, tuple(res.headers)
        )
    return RenderError(res.tracking_id, res.error)
