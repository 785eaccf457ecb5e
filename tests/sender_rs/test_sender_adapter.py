"""The native adapter implements the rendering port with sender_rs."""

from __future__ import annotations

import dataclasses
import types

import pytest

import sender_rs
from openmailer.adapters.native.sender import SenderRsMessageRenderer
from openmailer.core.ports import (
    CampaignContent,
    DkimKey,
    MessageRenderer,
    RecipientData,
    RenderedMessage,
    RenderedParts,
    RenderError,
    TemplateInvalid,
    TrackedLink,
)
from tests.sender_rs.sender_helpers import HTML, SECRET, TIMESTAMP, parse, pem_ed25519, pem_rsa

pytestmark = pytest.mark.unit

CONTENT = CampaignContent(
    campaign_id="cmp-9",
    subject="Hello {{first_name}}",
    html=HTML,
    from_email="news@acme.example",
    list_id="news.acme.example",
    base_url="https://mail.acme.example",
    tracking_secret=SECRET,
)


def renderer() -> MessageRenderer:
    return SenderRsMessageRenderer(threads=2)


def test_compiles_once_and_reports_tracked_links() -> None:
    campaign = renderer().compile(CONTENT, [DkimKey("acme.example", "s1", pem_rsa())])
    assert campaign.campaign_id == "cmp-9"
    assert list(campaign.links) == [
        TrackedLink(0, "https://shop.acme.example/sale?utm=mail&x=1"),
    ]


def test_renders_a_batch_in_order_with_per_recipient_errors() -> None:
    r = renderer()
    keys = [DkimKey("acme.example", "s1", pem_rsa()), DkimKey("acme.example", "s2", pem_ed25519())]
    campaign = r.compile(CONTENT, keys)
    recipients = [
        RecipientData("a1", "a@example.com", "u1", first_name="Ada"),
        RecipientData("a2", "b@example.com", "u2", custom={"plan": ["not", "a", "value"]}),
        RecipientData("a3", "bad address", "u3"),
        RecipientData("a4", "d@example.com", "u4", custom={"address": {"city": "Oslo"}}),
    ]
    out = r.render_batch(campaign, recipients, timestamp=TIMESTAMP)
    assert [o.tracking_id for o in out] == ["a1", "a2", "a3", "a4"]
    assert isinstance(out[0], RenderedMessage) and isinstance(out[3], RenderedMessage)
    assert isinstance(out[1], RenderError) and isinstance(out[2], RenderError)
    assert len(parse(out[0].data).get_all("DKIM-Signature") or []) == 2
    parts = r.render_batch(campaign, recipients[:1], output="parts")
    assert isinstance(parts[0], RenderedParts) and parts[0].subject == "Hello Ada"


def test_sender_rs_reads_exactly_the_fields_of_campaign_content() -> None:
    # The fields are declared twice, here and in the Rust `CampaignSpec`: they must agree.
    fields = {f.name: getattr(CONTENT, f.name) for f in dataclasses.fields(CampaignContent)}
    sender_rs.compile_template(types.SimpleNamespace(**fields))  # Rust reads nothing else
    for name in fields:
        without = types.SimpleNamespace(**{k: v for k, v in fields.items() if k != name})
        with pytest.raises(AttributeError, match=f"'{name}'"):
            sender_rs.compile_template(without)


def test_invalid_templates_and_keys_raise_template_invalid() -> None:
    r = renderer()
    bad = dataclasses.replace(CONTENT, subject="Hi {{ nme }}")
    with pytest.raises(TemplateInvalid) as e:
        r.compile(bad)
    assert (e.value.part, e.value.line, e.value.column) == ("subject", 1, 7)
    with pytest.raises(TemplateInvalid):
        r.compile(CONTENT, [DkimKey("acme.example", "s1", "not a key")])
