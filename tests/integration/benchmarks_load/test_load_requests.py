"""The load suite's request builders (benchmarks/load_requests.py) make requests the API
accepts, parsed from a targets file as the locustfile reads it: a load run cannot measure 4xx
answers without knowing (its signatures are checked by the API's own verifiers here)."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from benchmarks.load_requests import (
    TargetsError,
    class_weight,
    new_contact,
    parse_targets,
    private_key_pem,
    sendgrid_post,
    ses_notification,
    transactional_message,
)
from openmailer.core.accounts.service import AccountsPorts as Accounts
from tests.integration.accounts.accounts_helpers import api_key_for, make_user
from tests.integration.webhooks.webhook_helpers import SES_CONFIGURATION, add_provider
from tests.webhook_signing import CERT_URL, TOPIC_ARN, SendgridSigner, SnsSigner

pytestmark = pytest.mark.integration
PROVIDER_SCOPES = ["read:campaigns", "write:campaigns"]
CONTACT_SCOPES = ["read:contacts", "write:contacts"]


async def test_signed_ses_and_sendgrid_posts_are_stored_by_the_webhooks(
    webhook_client: httpx.AsyncClient,
    accounts: Accounts,
    sns_signer: SnsSigner,
    sendgrid_signer: SendgridSigner,
) -> None:
    owner = await api_key_for(accounts, await make_user(accounts), PROVIDER_SCOPES)
    ses = await add_provider(webhook_client, owner, "SES", SES_CONFIGURATION)
    sendgrid = await add_provider(
        webhook_client,
        owner,
        "SENDGRID",
        {"api_key": "SG.load", "webhook_verification_key": sendgrid_signer.public_key},
    )
    targets = parse_targets(
        {
            "ses": {
                "webhook_path": ses["webhook_path"],
                "private_key_pem": private_key_pem(sns_signer.key),
                "cert_url": CERT_URL,
                "topic_arn": TOPIC_ARN,
                "deliveries": [["ses-load-1", "a@example.org"], ["ses-load-2", "b@example.org"]],
            },
            "sendgrid": {
                "webhook_path": sendgrid["webhook_path"],
                "private_key_pem": private_key_pem(sendgrid_signer.key),
                "deliveries": [[f"sg-load-{n}", f"r{n}@example.org"] for n in range(7)],
            },
        }
    )
    assert targets.ses is not None and targets.sendgrid is not None
    for delivery in targets.ses.deliveries:
        # Twice the same delivery: each post is a new SNS message, stored as a new event.
        for _ in range(2):
            answer = await webhook_client.post(
                targets.ses.webhook_path,
                content=ses_notification(targets.ses, delivery),
                headers={"Content-Type": "text/plain; charset=UTF-8"},
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["stored"] == 1
    body, headers = sendgrid_post(targets.sendgrid, random.Random(7))
    answer = await webhook_client.post(targets.sendgrid.webhook_path, content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["stored"] == 5  # SENDGRID_EVENTS_PER_POST distinct deliveries


async def test_contacts_and_test_key_messages_are_accepted(
    client: httpx.AsyncClient, accounts: Accounts
) -> None:
    user = await make_user(accounts)
    live = await api_key_for(accounts, user, CONTACT_SCOPES)
    test = await api_key_for(accounts, user, ["send:campaigns"], test=True)
    targets = parse_targets(
        {
            "api": {
                "key": live.token,
                "list_id": 1,
                "segment_id": 1,
                "contact_domain": "load.example",
            },
            "messages": {
                "test_key": test.token,
                "from_email": "orders@shop.example",
                "to_domain": "load.example",
            },
        }
    )
    assert targets.api is not None and targets.messages is not None
    created = await client.post(
        "/api/v1/contacts", json=new_contact(targets.api), headers=live.headers
    )
    assert created.status_code == 201, created.text
    assert created.json()["tags"] == ["load-test"]
    deleted = await client.delete(f"/api/v1/contacts/{created.json()['id']}", headers=live.headers)
    assert deleted.status_code == 204
    sent = await client.post(
        "/api/v1/messages",
        json=transactional_message(targets.messages),
        headers={"Authorization": f"Bearer {targets.messages.test_key}"},
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["provider_message_id"].startswith("outbox-")


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        (
            {"messages": {"test_key": "om_live_x", "from_email": "a@b.c", "to_domain": "b.c"}},
            "messages.test_key: must be an om_test_ key",
        ),
        ({"api": {"key": "k", "list_id": "1"}}, "api.list_id: must be a non-empty int"),
        ({"recipients": {"pixel": ["/x"]}}, "recipients.pixel: every entry must be a path"),
        ({"ses": {"private_key_pem": "nope"}}, "ses.private_key_pem: not an unencrypted PEM"),
        ({"smtp": {}}, "unknown sections: smtp"),
    ],
)
def test_a_bad_targets_file_is_refused_naming_the_field(
    raw: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(TargetsError, match=complaint.replace(".", r"\.")):
        parse_targets(raw)


def test_a_class_weight_comes_from_the_environment_or_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LOAD_WEIGHT_PROVIDER", raising=False)
    assert class_weight("PROVIDER") == 2
    monkeypatch.setenv("LOAD_WEIGHT_PROVIDER", "0")
    assert class_weight("PROVIDER") == 0
    for bad in ("-1", "two"):
        monkeypatch.setenv("LOAD_WEIGHT_PROVIDER", bad)
        with pytest.raises(TargetsError, match="LOAD_WEIGHT_PROVIDER"):
            class_weight("PROVIDER")
