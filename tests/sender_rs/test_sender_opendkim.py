"""OpenDKIM (Debian's `opendkim -t`) verifies what we sign, offline with test key data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sender_rs
from tests.sender_rs.sender_helpers import (
    TIMESTAMP,
    Keys,
    compile_default,
    opendkim_verdict,
    write_opendkim_conf,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def opendkim_conf(keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_opendkim_conf(keys, tmp_path_factory.mktemp("opendkim"))


def render(keys: list[sender_rs.SigningKey], first: str, custom: dict[str, Any]) -> bytes | None:
    rcpt = sender_rs.Recipient(
        "r-1", "someone@example.com", unsubscribe_token="tok", first_name=first, custom=custom
    )
    (out,) = sender_rs.render_batch(
        compile_default(subject="Für {{first_name}}"), [rcpt], keys, timestamp=TIMESTAMP
    )
    return out.data if isinstance(out, sender_rs.RenderedMessage) else None


names = st.one_of(
    st.text(max_size=30).filter(lambda s: not any(c in s for c in "\r\n\0")),
    st.sampled_from([".", "Zoë 🎉", "a  b\tc", "<b>x</b>"]),
)
customs = st.fixed_dictionaries({"plan": st.text(max_size=300)})


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=names, custom=customs, algorithm=st.sampled_from(["rsa", "ed25519"]))
def test_opendkim_verifies_every_message(
    keys: Keys,
    opendkim_conf: Path,
    tmp_path: Path,
    first: str,
    custom: dict[str, Any],
    algorithm: str,
) -> None:
    key = keys.rsa if algorithm == "rsa" else keys.ed25519
    data = render([key], first, custom)
    assert data is not None
    verdict = opendkim_verdict(opendkim_conf, data, tmp_path)
    assert "verification" in verdict and "succeeded" in verdict, verdict
    assert f"s={key.selector}" in verdict


def test_opendkim_rejects_a_changed_byte(keys: Keys, opendkim_conf: Path, tmp_path: Path) -> None:
    for key in (keys.rsa, keys.ed25519):
        data = render([key], "Ada", {"plan": "pro"})
        assert data is not None
        i = data.index(b"Hello Ada")
        tampered = data[:i] + b"J" + data[i + 1 :]
        verdict = opendkim_verdict(opendkim_conf, tampered, tmp_path)
        assert "failed" in verdict and "succeeded" not in verdict, verdict
