"""Fuzzing the Python API: random templates, header inputs, recipients and PEM keys.

Whatever the input, only sender_rs errors come out (never a panic, which PyO3 would raise as a
`BaseException`, nor `InternalError`, which is a contained panic), and what succeeds is
well-formed: the MIME parses back with the standard library into the rendered parts, every
signature verifies and every tracking token is authentic.
"""

from __future__ import annotations

import email.utils
import functools
import re
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import sender_rs
from openmailer.core.ports.rendering import CampaignContent
from tests.sender_rs.sender_helpers import DOMAIN, SECRET, TIMESTAMP, Keys, body_text, parse, verify

pytestmark = pytest.mark.unit

T = TypeVar("T")

FUZZ = settings(
    max_examples=1200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TAGS = [
    "{{ first_name }}",
    "{{last_name|default:'x'}}",
    '{{ email | default: "a}}b" }}',
    "{{ custom.a.b }}",
    "{{custom.n}}",
    "{{unsubscribe_url}}",
    "{{ preferences_url }}",
]
MALFORMED_TAGS = [
    "{{",
    "}}",
    "{{ }}",
    "{{ nope }}",
    "{{ email | upper }}",
    "{{ custom }}",
    "{{ custom. }}",
    '{{ email | default: "',
    "{{ first_name\n}}",
    "{{ a b }}",
    "{{'x'}}",
    "{{ email | default: 'a\\' }}",
]
MARKUP = [
    "<html>",
    "<head><title>T</title></head>",
    "<body>",
    "<BODY class=x>",
    "</body>",
    "</BODY>",
    "</bod",
    "<body",
    "<p>",
    "</p>",
    "<br>",
    "<li>",
    "<img alt='a &amp; b' src=x>",
    "<!--",
    "-->",
    "<style>p{}</style>",
    "<script>x</script>",
    "</a>",
    "<a ",
    "<a>",
]
TEXTY = [
    "&amp;",
    "&",
    ";",
    "&#x41;",
    "&#0;",
    "&nbsp;",
    "&bogus",
    "<",
    ">",
    '"',
    "'",
    "=",
    "\\",
    "\n",
    "\r\n",
    "\r",
    "\t",
    "  ",
    "\0",
    ".",
    "\n.\n",
    "é",
    "日本語テキスト",
    "🎉",
    "\u2028",
    "\x85",
    "=?UTF-8?B?eA==?=",
    "x" * 200,
]
URLS = [
    "https://shop.example/sale?a=1&amp;b=2",
    "http://b.example",
    "HTTPS://C.EXAMPLE/日本",
    "https://x.example/&éééééé",
    "https://x.example/{{ email }}",
    "{{unsubscribe_url}}",
    "{{ custom.link }}",
    "mailto:help@acme.example",
    "tel:+15550100",
    "javascript:alert(1)",
    "#top",
    "",
    " https://padded.example ",
]


def mostly(valid: st.SearchStrategy[T], wild: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """`wild` about one time in eight, so that most examples get past validation to rendering."""
    return st.sampled_from([False] * 7 + [True]).flatmap(lambda w: wild if w else valid)


def link(url: str, quote: str, opt_out: bool, label: str) -> str:
    track = ' data-track="false"' if opt_out else ""
    return f"<a{track} href={quote}{url}{quote}>{label}</a>"


links = st.builds(
    link,
    st.one_of(st.sampled_from(URLS), st.text(max_size=20)),
    st.sampled_from(['"', "'", ""]),
    st.booleans(),
    st.sampled_from(["", "go", "https://shop.example/sale?a=1&amp;b=2"]),
)
fragment = st.one_of(
    st.sampled_from(TAGS),
    st.sampled_from(MARKUP),
    st.sampled_from(TEXTY),
    links,
    st.text(max_size=12),
)
template = mostly(
    st.lists(fragment, max_size=25),
    st.lists(st.one_of(fragment, st.sampled_from(MALFORMED_TAGS)), max_size=25),
).map("".join)
# Header inputs: CR, LF and NUL are forbidden, and are tried now and then.
safe_line = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n\0"), max_size=30),
    st.sampled_from(["", "Acme", "Grüße aus Köln", " lead", "trail ", "a  b", "\t", "=?x?q?x?="]),
    st.sampled_from(["word " * 30, "a" * 200, '"quoted" \\ name', "Zoë 🎉 日本語", "\x85\u2028"]),
)
line_text = mostly(safe_line, st.one_of(st.text(max_size=30), st.just("a\r\nBcc: x@y")))
subject = st.lists(st.one_of(st.sampled_from(TAGS), line_text), max_size=4).map(" ".join)
address = mostly(
    st.sampled_from([f"news@{DOMAIN}", f"a.b+c@mail.{DOMAIN}", "x@y.example"]),
    st.text(max_size=30),
)
header_name = mostly(
    st.sampled_from(["X-Campaign", "X-Tag", "x-a!~", "X" * 76]),
    st.one_of(
        st.sampled_from(["Subject", "bcc", "Bad Name", "X:Y", ""]),
        st.text(alphabet="abcXYZ-_!~:", min_size=1, max_size=12),
    ),
)
optional = st.none() | line_text

contents = st.builds(
    CampaignContent,
    campaign_id=mostly(st.sampled_from(["cmp-1", "C_2", "c" * 64]), st.text(max_size=70)),
    subject=subject,
    html=template,
    from_email=address,
    list_id=mostly(st.just(f"news.{DOMAIN}"), st.text(max_size=20)),
    base_url=mostly(
        st.sampled_from(["https://mail.acme.example", "http://x.example/t/"]),
        st.text(max_size=30),
    ),
    tracking_secret=mostly(st.just(SECRET), st.binary(max_size=40)),
    text=st.none() | template,
    preview_text=st.none() | template,
    from_name=optional,
    reply_to=st.none() | address,
    list_name=optional,
    track_opens=st.booleans(),
    track_clicks=st.booleans(),
    unsubscribe_mailto=st.none() | address,
    extra_headers=st.lists(st.tuples(header_name, line_text), max_size=3).map(tuple),
)

json_keys = st.one_of(st.sampled_from(["a", "b", "n", "link"]), st.text(max_size=4))
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        line_text,
        st.sampled_from(URLS),
    ),
    lambda inner: st.dictionaries(json_keys, inner, max_size=3),
    max_leaves=6,
)
recipient_args = st.fixed_dictionaries(
    {
        "tracking_id": mostly(st.sampled_from(["r-1", "R_2", "x" * 64]), st.text(max_size=70)),
        "email": address,
        "unsubscribe_token": mostly(st.just("tok-1.~_"), st.text(max_size=10)),
        "first_name": optional,
        "last_name": optional,
        "custom": st.none() | st.dictionaries(json_keys, json_values, max_size=4),
        "preferences_token": st.none() | st.sampled_from(["pref-1", "bad token", ""]),
    }
)


def only_our_errors(call: Callable[[], T]) -> T | sender_rs.SenderError:
    """The call's result or its sender_rs error; anything else (a panic included) fails."""
    try:
        return call()
    except sender_rs.InternalError as e:
        raise AssertionError(f"sender_rs panicked: {e}") from e
    except sender_rs.SenderError as e:
        return e
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # PyO3's PanicException is not an Exception
        raise AssertionError(f"{type(e).__module__}.{type(e).__name__} escaped: {e}") from e


TOKEN = r"[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]+"


def check_tracking(html: str, base_url: str, tracking_id: str, n_links: int) -> None:
    base = re.escape(base_url.rstrip("/"))
    for idx, mac in re.findall(rf"{base}/t/c/{re.escape(tracking_id)}\.(\d+)\.([\w-]+)", html):
        token = f"{tracking_id}.{idx}.{mac}"
        assert sender_rs.verify_click_token(SECRET, token) == (tracking_id, int(idx))
        assert int(idx) < n_links
    for token in re.findall(rf"{base}/t/o/({TOKEN})\.gif", html):
        assert sender_rs.verify_open_token(SECRET, token) == tracking_id


def unspaced(s: str) -> str:
    return "".join(s.split())


def check_message(
    data: bytes, parts: sender_rs.RenderedParts, content: CampaignContent, keys: Keys, n_sigs: int
) -> None:
    assert data.isascii()
    assert b"\r" not in data.replace(b"\r\n", b"") and b"\n" not in data.replace(b"\r\n", b"")
    head, body = data.split(b"\r\n\r\n", 1)
    assert all(len(line) <= 998 for line in head.split(b"\r\n"))
    assert all(len(line) <= 76 and not line.startswith(b".") for line in body.split(b"\r\n"))
    msg = parse(data)
    assert not msg.defects and all(not part.defects for part in msg.walk())
    assert msg["Message-ID"] == parts.message_id
    assert msg["Subject"] == parts.subject
    (sender,) = msg["From"].addresses
    assert sender.addr_spec == content.from_email
    # Compared without whitespace: CPython keeps the folding space between two encoded-words of a
    # display name, which RFC 2047 (6.2) says to drop, and collapses runs of spaces.
    assert unspaced(sender.display_name) == unspaced(content.from_name or "")
    for name, value in content.extra_headers:
        assert value in (msg.get_all(name) or [])
    # Decoded bodies equal the rendered parts (MIME line ends are CRLF).
    assert body_text(msg, "html").replace("\r\n", "\n") == parts.html.replace("\r\n", "\n")
    assert body_text(msg, "plain").replace("\r\n", "\n") == parts.text.replace("\r\n", "\n")
    for idx in range(n_sigs):
        assert verify(data, keys.dns(), idx=idx), idx


@FUZZ
@given(
    content=contents,
    recipients=st.lists(recipient_args, min_size=1, max_size=3),
    signers=st.sampled_from([(), ("rsa",), ("ed25519",), ("ed25519", "rsa")]),
    profile=st.sampled_from(["default", "ses"]),
    threads=st.sampled_from([1, 2]),
    timestamp=st.integers(0, TIMESTAMP),  # dkimpy rejects a t= in the future
)
def test_any_input_gives_our_errors_or_well_formed_messages(
    keys: Keys,
    content: CampaignContent,
    recipients: list[dict[str, Any]],
    signers: tuple[str, ...],
    profile: Any,
    threads: int,
    timestamp: int,
) -> None:
    template = only_our_errors(lambda: sender_rs.compile_template(content))
    if isinstance(template, sender_rs.TemplateError):
        assert template.part in {"subject", "html", "text", "preview_text"}
        assert template.line >= 1 and template.column >= 1
    if isinstance(template, sender_rs.SenderError):
        event(f"compile: {type(template).__name__}")
        return
    event("compile: ok")
    assert [link.index for link in template.links] == list(range(len(template.links)))
    assert all(link.url.lower().startswith(("http://", "https://")) for link in template.links)
    built = [only_our_errors(functools.partial(sender_rs.Recipient, **r)) for r in recipients]
    batch = [r for r in built if isinstance(r, sender_rs.Recipient)]
    signing = [getattr(keys, name) for name in signers]
    common: dict[str, Any] = {"profile": profile, "timestamp": timestamp, "threads": threads}
    mime = only_our_errors(lambda: sender_rs.render_batch(template, batch, signing, **common))
    parts = only_our_errors(
        lambda: sender_rs.render_batch(template, batch, output="parts", **common)
    )
    assert isinstance(mime, list) and isinstance(parts, list)
    assert len(mime) == len(parts) == len(batch)
    for rcpt, m, p in zip(batch, mime, parts, strict=True):
        assert m.tracking_id == p.tracking_id == rcpt.tracking_id
        if isinstance(m, sender_rs.RenderFailure) or isinstance(p, sender_rs.RenderFailure):
            assert isinstance(m, sender_rs.RenderFailure) and isinstance(p, sender_rs.RenderFailure)
            assert m.error == p.error and "internal error" not in m.error
            event("recipient: failure")
            continue
        event("recipient: rendered")
        assert isinstance(m, sender_rs.RenderedMessage) and isinstance(p, sender_rs.RenderedParts)
        assert m.message_id == p.message_id
        assert all(not set(v) & {"\r", "\n", "\0"} for _, v in p.headers)
        # Parts carry decoded values: the display name is quoted, not RFC 2047-encoded.
        from_name, from_email = email.utils.parseaddr(dict(p.headers)["From"])
        assert (from_name, from_email) == (content.from_name or "", content.from_email)
        if content.tracking_secret == SECRET:
            check_tracking(p.html, content.base_url, rcpt.tracking_id, len(template.links))
            check_tracking(p.text, content.base_url, rcpt.tracking_id, len(template.links))
        check_message(m.data, p, content, keys, len(signing))


@pytest.mark.parametrize(
    "html",
    ["", "hi", "</bod", '<a href="https://x.example/&éééééé">x</a>', "<p>Tom & 日本語テキスト</p>"],
)
def test_html_that_used_to_panic_compiles(html: str) -> None:
    sender_rs.compile_template(
        CampaignContent(
            campaign_id="c-1",
            subject="Hi",
            html=html,
            from_email=f"news@{DOMAIN}",
            list_id=f"news.{DOMAIN}",
            base_url="https://mail.acme.example",
            tracking_secret=SECRET,
            preview_text="Preheader",
        )
    )


def pem_from(label: str, body: str, order: list[int]) -> str:
    """The pieces of a PEM block, in any order, repeated or left out."""
    pieces = ["-----BEGIN ", label, "-----", body, "-----END ", label, "-----", "\n"]
    return "".join(pieces[i] for i in order)


pems = st.builds(
    pem_from,
    st.one_of(st.sampled_from(["PRIVATE KEY", "RSA PRIVATE KEY", "", "X"]), st.text(max_size=5)),
    st.one_of(st.sampled_from(["", "MC4CAQAwBQYDK2VwBCIEI", "====", "\n \t"]), st.text(max_size=8)),
    st.lists(st.integers(0, 7), max_size=9),
)


@settings(max_examples=300, deadline=None)
@given(domain=st.one_of(st.just(DOMAIN), st.text(max_size=10)), pem=pems)
def test_any_pem_is_a_key_or_a_key_error(domain: str, pem: str) -> None:
    key = only_our_errors(lambda: sender_rs.SigningKey.from_pem(domain, "s1", pem))
    assert isinstance(key, sender_rs.SigningKey | sender_rs.SigningKeyError), key


def test_pem_whose_end_line_comes_first_is_a_key_error() -> None:
    with pytest.raises(sender_rs.SigningKeyError):
        sender_rs.SigningKey.from_pem(DOMAIN, "s1", "-----BEGIN -----END -----")
