"""Property tests: whatever the contact data, every message parses back and verifies."""

from __future__ import annotations

from typing import Any

import pytest
from aiosmtplib.protocol import normalize_message_line_endings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sender_rs
from tests.sender_rs.sender_helpers import (
    TIMESTAMP,
    Keys,
    body_text,
    compile_default,
    parse,
    verify,
)

pytestmark = pytest.mark.unit

PROFILE = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Unicode text including controls, CR/LF attempts, lone dots, long lines and whitespace runs.
tricky = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            ".",
            "\r\n.\r\n",
            "a\r\nBcc: x@y.example",
            "x\0y",
            " lead",
            "trail ",
            "a  b\tc",
            "=?UTF-8?Q?=0A?=",
            "<script>alert(1)</script>",
            "Zoë 🎉 Ωμέγα 日本語",
        ]
    ),
    st.text(alphabet="ab .\t", min_size=200, max_size=1200),
)
field_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), tricky)
custom_fields = st.dictionaries(
    field_names, st.one_of(scalars, st.dictionaries(field_names, scalars, max_size=3)), max_size=4
)

HTML = (
    "<html><body><p>Dear {{ first_name | default: 'friend' }} {{last_name}},</p>\n"
    "<p>{{ custom.a }} / {{ custom.b.c }}</p>\n"
    '<pre>{{custom.long}}</pre><p><a href="https://x.example/p?a=1">go</a></p>\n'
    '.\n..\n<a href="{{unsubscribe_url}}">unsubscribe</a></body></html>'
)


def render_parts(subject: str, first: str, last: str, custom: dict[str, Any]) -> Any:
    template = compile_default(
        subject=subject + " {{first_name}}", html=HTML, preview_text="{{custom.a}}"
    )
    rcpt = sender_rs.Recipient(
        "r-1",
        "someone@example.com",
        unsubscribe_token="tok",
        first_name=first,
        last_name=last,
        custom=custom,
    )
    (out,) = sender_rs.render_batch(template, [rcpt], output="parts", timestamp=TIMESTAMP)
    return out


def render(
    keys: list[sender_rs.SigningKey], subject: str, first: str, last: str, custom: dict[str, Any]
) -> sender_rs.RenderedMessage | sender_rs.RenderFailure:
    template = compile_default(
        subject=subject + " {{first_name}}", html=HTML, preview_text="{{custom.a}}"
    )
    rcpt = sender_rs.Recipient(
        "r-1",
        "someone@example.com",
        unsubscribe_token="tok",
        first_name=first,
        last_name=last,
        custom=custom,
    )
    (out,) = sender_rs.render_batch(template, [rcpt], keys, timestamp=TIMESTAMP)
    assert not isinstance(out, sender_rs.RenderedParts)
    return out


def header_safe(s: str) -> bool:
    return not any(c in s for c in "\r\n\0")


def check(
    out: sender_rs.RenderedMessage | sender_rs.RenderFailure,
    keys: Keys,
    subject: str,
    first: str,
    last: str,
    custom: dict[str, Any],
    n_sigs: int,
) -> None:
    if not header_safe(first):
        # The first name is used in the subject: CR, LF and NUL there fail this recipient only.
        assert isinstance(out, sender_rs.RenderFailure)
        return
    if any(isinstance(v, dict) for v in (custom.get("a"), custom.get("long"))) or (
        isinstance(custom.get("b"), dict) and isinstance(custom["b"].get("c"), dict)
    ):
        assert isinstance(out, sender_rs.RenderFailure)
        return
    assert isinstance(out, sender_rs.RenderedMessage), out
    data = out.data
    assert data.isascii()
    for line in data.split(b"\r\n"):
        assert len(line) <= 998
    _, body = data.split(b"\r\n\r\n", 1)
    for line in body.split(b"\r\n"):
        assert len(line) <= 76
        assert not line.startswith(b".")
    assert b"\r" not in data.replace(b"\r\n", b"") and b"\n" not in data.replace(b"\r\n", b"")
    msg = parse(data)
    assert msg["Subject"] == subject + " " + first
    assert out.subject == msg["Subject"]  # as rendered: no caller has to parse it back
    assert len(msg.get_all("From") or []) == 1
    assert "<script>" not in body_text(msg, "html")
    parts = render_parts(subject, first, last, custom)
    assert isinstance(parts, sender_rs.RenderedParts)
    # Decoded bodies equal the rendered parts (MIME line ends are CRLF).
    assert body_text(msg, "html").replace("\r\n", "\n") == parts.html.replace("\r\n", "\n")
    assert body_text(msg, "plain").replace("\r\n", "\n") == parts.text.replace("\r\n", "\n")
    for idx in range(n_sigs):
        assert verify(data, keys.dns(), idx=idx), (idx, data[:2000])


safe_subject = st.text(max_size=60).filter(header_safe)


@PROFILE
@given(subject=safe_subject, first=tricky, last=tricky, custom=custom_fields)
def test_every_rsa_signed_message_verifies(
    keys: Keys, subject: str, first: str, last: str, custom: dict[str, Any]
) -> None:
    check(render([keys.rsa], subject, first, last, custom), keys, subject, first, last, custom, 1)


@PROFILE
@given(subject=safe_subject, first=tricky, last=tricky, custom=custom_fields)
def test_every_dual_signed_message_verifies(
    keys: Keys, subject: str, first: str, last: str, custom: dict[str, Any]
) -> None:
    out = render([keys.ed25519, keys.rsa], subject, first, last, custom)
    check(out, keys, subject, first, last, custom, 2)


@PROFILE
@given(first=tricky, custom=custom_fields, position=st.integers(min_value=0))
def test_any_one_byte_change_in_the_body_fails(
    keys: Keys, first: str, custom: dict[str, Any], position: int
) -> None:
    out = render([keys.ed25519], "Hello", first, "", custom)
    if not isinstance(out, sender_rs.RenderedMessage):
        return
    head, body = out.data.split(b"\r\n\r\n", 1)
    # Change a visible character (relaxed canonicalisation ignores whitespace amounts).
    visible = [i for i, b in enumerate(body) if 0x21 <= b <= 0x7E]
    i = visible[position % len(visible)]
    changed = bytes([body[i] ^ 0x01 if 0x21 <= body[i] ^ 0x01 <= 0x7E else 0x41])
    if changed == body[i : i + 1]:
        changed = b"B" if changed != b"B" else b"C"
    tampered = head + b"\r\n\r\n" + body[:i] + changed + body[i + 1 :]
    assert not verify(tampered, keys.dns())


def smtp_data_by_the_book(raw: bytes) -> bytes:
    """What sender_rs.smtp_data must equal: aiosmtplib's line-end normalisation, then dot
    stuffing and the terminator (RFC 5321 4.5.2), in three passes of Python."""
    normalised = normalize_message_line_endings(raw)
    stuffed = normalised.replace(b"\r\n.", b"\r\n..")
    return (b"." + stuffed if stuffed.startswith(b".") else stuffed) + b".\r\n"


@PROFILE
@given(
    raw=st.one_of(
        st.binary(max_size=200),
        st.lists(st.sampled_from([b"a", b"bc", b".", b"..", b"\r", b"\n", b"\r\n", b"x" * 37])).map(
            b"".join
        ),
    )
)
def test_smtp_data_is_the_message_normalised_and_dot_stuffed(raw: bytes) -> None:
    assert sender_rs.smtp_data(raw) == smtp_data_by_the_book(raw)


def test_smtp_data_of_a_signed_message_keeps_it_byte_for_byte(keys: Keys) -> None:
    out = render([keys.ed25519, keys.rsa], "Hello", "Ada", "", {"long": "." * 300})
    assert isinstance(out, sender_rs.RenderedMessage)
    assert sender_rs.smtp_data(out.data) == out.data + b".\r\n"  # CRLF only, no line starts "."
