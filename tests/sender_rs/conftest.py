"""Session-wide DKIM keys (RSA-2048 and Ed25519) for the sender_rs tests."""

from __future__ import annotations

import pytest

import sender_rs
from tests.sender_rs.sender_helpers import DOMAIN, Keys, pem_ed25519, pem_rsa


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(
        rsa=sender_rs.SigningKey.from_pem(DOMAIN, "rsa2048", pem_rsa()),
        ed25519=sender_rs.SigningKey.from_pem(DOMAIN, "ed", pem_ed25519()),
    )
