import base64

import pytest

from openmailer.core.accounts import totp

pytestmark = pytest.mark.unit

SEEDS = {
    "SHA1": b"12345678901234567890",
    "SHA256": b"12345678901234567890123456789012",
    "SHA512": b"1234567890" * 6 + b"1234",
}
# RFC 6238 Appendix B: (time, algorithm, 8-digit TOTP)
RFC6238_VECTORS = [
    (59, "SHA1", "94287082"),
    (59, "SHA256", "46119246"),
    (59, "SHA512", "90693936"),
    (1111111109, "SHA1", "07081804"),
    (1111111109, "SHA256", "68084774"),
    (1111111109, "SHA512", "25091201"),
    (1111111111, "SHA1", "14050471"),
    (1111111111, "SHA256", "67062674"),
    (1111111111, "SHA512", "99943326"),
    (1234567890, "SHA1", "89005924"),
    (1234567890, "SHA256", "91819424"),
    (1234567890, "SHA512", "93441116"),
    (2000000000, "SHA1", "69279037"),
    (2000000000, "SHA256", "90698825"),
    (2000000000, "SHA512", "38618901"),
    (20000000000, "SHA1", "65353130"),
    (20000000000, "SHA256", "77737706"),
    (20000000000, "SHA512", "47863826"),
]


@pytest.mark.parametrize(("unix_time", "algorithm", "expected"), RFC6238_VECTORS)
def test_rfc6238_vectors(unix_time: int, algorithm: str, expected: str) -> None:
    code = totp.hotp(SEEDS[algorithm], totp.time_step(unix_time), digits=8, algorithm=algorithm)
    assert code == expected


KEY = SEEDS["SHA1"]
NOW = 1111111111.0
CHECK = totp.TotpCheck()


def code_at(unix_time: float) -> str:
    return totp.hotp(KEY, totp.time_step(unix_time))


def test_current_code_matches_its_step() -> None:
    assert CHECK.matching_step(KEY, code_at(NOW), NOW, None) == totp.time_step(NOW)


def test_code_already_used_is_rejected() -> None:
    step = CHECK.matching_step(KEY, code_at(NOW), NOW, None)
    assert step is not None
    assert CHECK.matching_step(KEY, code_at(NOW), NOW, last_used_step=step) is None


def test_older_code_is_rejected_after_a_newer_one_was_used() -> None:
    previous_code = code_at(NOW - 30)
    assert CHECK.matching_step(KEY, previous_code, NOW, totp.time_step(NOW)) is None


def test_one_step_of_clock_drift_is_accepted_two_are_not() -> None:
    assert CHECK.matching_step(KEY, code_at(NOW - 30), NOW, None) == totp.time_step(NOW) - 1
    assert CHECK.matching_step(KEY, code_at(NOW + 30), NOW, None) == totp.time_step(NOW) + 1
    assert CHECK.matching_step(KEY, code_at(NOW - 90), NOW, None) is None


@pytest.mark.parametrize("garbage", ["", "12345", "1234567", "abcdef", "12 456", "١٢٣٤٥٦"])
def test_malformed_codes_are_rejected(garbage: str) -> None:
    assert CHECK.matching_step(KEY, garbage, NOW, None) is None


def test_generated_secret_round_trips_through_base32() -> None:
    secret = totp.generate_secret()
    assert len(totp.decode_secret(secret)) == totp.SECRET_BYTES
    assert "=" not in secret


def test_provisioning_uri_names_issuer_account_and_secret() -> None:
    secret = base64.b32encode(KEY).decode()
    uri = totp.provisioning_uri(secret, account="ann", issuer="OpenMailer")
    assert uri.startswith("otpauth://totp/OpenMailer:ann?")
    assert f"secret={secret}" in uri
    assert "issuer=OpenMailer" in uri
