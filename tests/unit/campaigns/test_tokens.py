import pytest

from openmailer.core.campaigns.tokens import MAC_CHARS, TokenPurpose, issue_token, read_token

pytestmark = pytest.mark.unit
KEY = bytes(range(32))
TRACKING_ID = "3f2a9c0e8b7d4e1fa6c5b4d3e2f1a0b9"


@pytest.mark.parametrize("purpose", list(TokenPurpose))
def test_a_token_reads_back_as_its_tracking_id(purpose: TokenPurpose) -> None:
    token = issue_token(KEY, purpose, TRACKING_ID)
    assert token.startswith(TRACKING_ID + ".")
    assert len(token.partition(".")[2]) == MAC_CHARS
    assert read_token(KEY, purpose, token) == TRACKING_ID


def test_purposes_do_not_cross() -> None:
    unsubscribe = issue_token(KEY, TokenPurpose.UNSUBSCRIBE, TRACKING_ID)
    assert read_token(KEY, TokenPurpose.PREFERENCES, unsubscribe) is None


def test_another_key_or_another_recipient_is_refused() -> None:
    token = issue_token(KEY, TokenPurpose.UNSUBSCRIBE, TRACKING_ID)
    assert read_token(bytes(32), TokenPurpose.UNSUBSCRIBE, token) is None
    mac = token.partition(".")[2]
    assert read_token(KEY, TokenPurpose.UNSUBSCRIBE, f"{TRACKING_ID[:-1]}0.{mac}") is None


@pytest.mark.parametrize(
    "token",
    [
        "",
        ".",
        TRACKING_ID,
        f"{TRACKING_ID}.",
        f"{TRACKING_ID}.short",
        "é" * 10 + "." + "é" * 22,
        f"{TRACKING_ID}." + "é" * MAC_CHARS,
        "a/b." + "A" * MAC_CHARS,
        "x" * 65 + "." + "A" * 22,
    ],
)
def test_malformed_tokens_are_refused_without_raising(token: str) -> None:
    assert read_token(KEY, TokenPurpose.UNSUBSCRIBE, token) is None


def test_a_tracking_id_that_could_not_be_read_back_is_not_issued() -> None:
    with pytest.raises(ValueError, match="not a tracking id"):
        issue_token(KEY, TokenPurpose.UNSUBSCRIBE, "has.dot")
