"""OPENMAILER_DNS_NAMESERVERS and OPENMAILER_DNS_TIMEOUT."""

from __future__ import annotations

from pathlib import Path

import pytest

from openmailer.adapters.settings import SettingsError, load_settings

pytestmark = pytest.mark.unit


def test_nameservers_take_optional_ports_and_ipv6_in_brackets(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "OPENMAILER_DNS_NAMESERVERS": "127.0.0.1, 10.0.0.53:5353,[::1]:5300,::2",
            "OPENMAILER_DNS_TIMEOUT": "0.5",
        },
        dotenv=tmp_path / ".env",
    )
    assert settings.dns_nameservers == (
        ("127.0.0.1", 53),
        ("10.0.0.53", 5353),
        ("::1", 5300),
        ("::2", 53),
    )
    assert settings.dns_timeout == 0.5
    assert load_settings({}, dotenv=tmp_path / ".env").dns_nameservers == ()


@pytest.mark.parametrize("raw", ["ns.example.com", "127.0.0.1:0", "127.0.0.1:x"])
def test_a_bad_nameserver_is_named(raw: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="OPENMAILER_DNS_NAMESERVERS: entry 1"):
        load_settings({"OPENMAILER_DNS_NAMESERVERS": raw}, dotenv=tmp_path / ".env")
