"""The load suite's requests go to the webhooks tests' app: SNS played on loopback."""

from tests.integration.webhooks.conftest import (  # noqa: F401
    sendgrid_signer,
    sns_peer,
    sns_signer,
    webhook_app,
    webhook_client,
    webhook_settings,
)
