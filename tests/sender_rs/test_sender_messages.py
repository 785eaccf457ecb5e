"""Every generated message is parsed back: headers, bodies, links, limits and signatures."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import threading
import time

import pytest

import sender_rs
import sender_rs.errors
from sender_rs import _sender_rs
from tests.sender_rs import rfc8463_vectors as rfc
from tests.sender_rs.sender_helpers import (
    BASE_URL,
    DOMAIN,
    SECRET,
    TIMESTAMP,
    Keys,
    body_text,
    compile_default,
    parse,
    pem_ed25519,
    pem_rsa,
    recipient,
    verify,
)

pytestmark = pytest.mark.unit

EXPECTED_HEADERS = [
    "DKIM-Signature",
    "From",
    "To",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "List-Id",
    "Content-Type",
]


def render_one(
    keys: list[sender_rs.SigningKey], rcpt: sender_rs.Recipient | None = None, **kw: object
) -> bytes:
    template = compile_default()
    (out,) = sender_rs.render_batch(
        template, [rcpt or recipient()], keys, timestamp=TIMESTAMP, **kw
    )  # type: ignore[arg-type]
    assert isinstance(out, sender_rs.RenderedMessage), out
    return out.data


def render_parts(rcpt: sender_rs.Recipient, **overrides: object) -> sender_rs.RenderedParts:
    (out,) = sender_rs.render_batch(
        compile_default(**overrides), [rcpt], output="parts", timestamp=TIMESTAMP
    )
    assert isinstance(out, sender_rs.RenderedParts), out
    return out


def test_message_has_exactly_the_expected_headers_and_bodies(keys: Keys) -> None:
    data = render_one([keys.rsa])
    msg = parse(data)
    assert list(msg.keys()) == EXPECTED_HEADERS
    assert msg["From"] == "Acme News <news@acme.example>"
    assert msg["To"] == "user1@example.com"
    assert msg["Reply-To"] == "support@acme.example"
    assert msg["Subject"] == "Hi Ada, news from Acme"
    assert msg["Date"] == "Mon, 24 Nov 2025 16:00:00 +0000"
    assert msg["Message-ID"] == "<rcpt-1.cmp-1@acme.example>"
    assert msg["List-Unsubscribe"] == (
        f"<{BASE_URL}/u/unsub-1>, <mailto:unsubscribe@{DOMAIN}?subject=unsubscribe%20unsub-1>"
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["List-Id"] == '"Acme newsletter" <news.acme.example>'
    assert msg.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"]

    rendered = render_parts(recipient())
    # MIME text is canonically CRLF; the rendered parts use LF.
    assert body_text(msg, "html").replace("\r\n", "\n") == rendered.html
    assert body_text(msg, "plain").replace("\r\n", "\n") == rendered.text
    for line in data.split(b"\r\n"):
        assert len(line) <= 78
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert verify(data, keys.dns())


def test_mail_of_no_list_carries_no_list_headers_and_still_verifies(keys: Keys) -> None:
    (out,) = sender_rs.render_batch(
        compile_default(list_headers=False), [recipient()], [keys.rsa], timestamp=TIMESTAMP
    )
    assert isinstance(out, sender_rs.RenderedMessage), out
    msg = parse(out.data)
    assert list(msg.keys()) == [h for h in EXPECTED_HEADERS if not h.startswith("List-")]
    # Oversigned while absent: a relay cannot add an unsubscribe header under our signature.
    assert "list-unsubscribe:list-unsubscribe-post" in re.sub(r"\s", "", msg["DKIM-Signature"])
    assert verify(out.data, keys.dns())
    parts = render_parts(recipient(), list_headers=False)
    assert not [name for name, _ in parts.headers if name.startswith("List-")]


def test_content_rules_in_parts() -> None:
    p = render_parts(recipient())
    assert "<h1>Hello Ada!</h1>" in p.html
    assert "Your city: London. Plan: pro." in p.html
    # Tracked, opted-out, and untouched links.
    assert re.search(r'href="https://mail\.acme\.example/t/c/rcpt-1\.0\.[A-Za-z0-9_-]{22}"', p.html)
    assert '<a href="https://blog.acme.example/post">' in p.html
    assert "data-track" not in p.html
    for untouched in ("mailto:help@acme.example", "tel:+15550100", "#top"):
        assert f'href="{untouched}"' in p.html
    assert f'href="{BASE_URL}/u/unsub-1"' in p.html
    assert f'href="{BASE_URL}/p/unsub-1"' in p.html
    # Preheader right after <body>, pixel right before </body>.
    assert re.search(
        r"<body>\s*<div style=\"display:none[^\"]*\">This week&#39;s deals</div>", p.html
    )
    assert re.search(
        r'<img src="https://mail\.acme\.example/t/o/rcpt-1\.[A-Za-z0-9_-]{22}\.gif"[^>]*></body>',
        p.html,
    )
    # The derived text part: readable, raw values, tracked URLs.
    assert p.text.startswith("Hello Ada!\n\nYour city: London. Plan: pro.")
    assert re.search(
        r"Shop the sale <https://mail\.acme\.example/t/c/rcpt-1\.0\.[\w-]{22}>", p.text
    )
    assert "Read the blog <https://blog.acme.example/post>" in p.text
    assert f"Unsubscribe <{BASE_URL}/u/unsub-1>" in p.text
    assert "News" not in p.text.split("\n")[0]  # <title> and <style> are not text
    headers = dict(p.headers)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["Message-ID"] == "<rcpt-1.cmp-1@acme.example>"
    assert headers["From"] == f'"Acme News" <news@{DOMAIN}>'


def test_parts_header_values_are_decoded_and_unfolded() -> None:
    name = "Grüße aus Köln, the long-named newsletter of Acme"
    p = render_parts(recipient(), from_name=name, list_name=name)
    headers = dict(p.headers)
    # The provider building the MIME encodes them: no encoded-words, no folding.
    assert headers["From"] == f'"{name}" <news@{DOMAIN}>'
    assert headers["List-Id"] == f'"{name}" <news.{DOMAIN}>'


def test_tracked_links_are_reported_with_stable_indexes() -> None:
    t = compile_default(
        text="Shop: https://shop.acme.example/sale?utm=mail&x=1\nNew: https://new.acme.example/."
    )
    assert [(link.index, link.url) for link in t.links] == [
        (0, "https://shop.acme.example/sale?utm=mail&x=1"),
        (1, "https://new.acme.example/"),
    ]
    p = render_parts(
        recipient(),
        text="Shop: https://shop.acme.example/sale?utm=mail&x=1\nNew: https://new.acme.example/.",
    )
    assert re.search(r"Shop: https://mail\.acme\.example/t/c/rcpt-1\.0\.[\w-]{22}\n", p.text)
    assert re.search(r"New: https://mail\.acme\.example/t/c/rcpt-1\.1\.[\w-]{22}\.$", p.text)


def test_click_and_open_tokens_verify_and_identify_recipient_and_link() -> None:
    p = render_parts(recipient(7))
    token = re.search(r"/t/c/([^\"]+)\"", p.html)
    assert token
    assert sender_rs.verify_click_token(SECRET, token.group(1)) == ("rcpt-7", 0)
    assert sender_rs.verify_click_token(b"another-secret-of-some-length", token.group(1)) is None
    forged = token.group(1).replace("rcpt-7.0.", "rcpt-8.0.")
    assert sender_rs.verify_click_token(SECRET, forged) is None
    mac = token.group(1).rsplit(".", 1)[1]
    assert len(base64.urlsafe_b64decode(mac + "==")) * 8 == 128
    pixel = re.search(r"/t/o/([^\"]+)\.gif", p.html)
    assert pixel
    assert sender_rs.verify_open_token(SECRET, pixel.group(1)) == "rcpt-7"


def test_tracking_can_be_switched_off() -> None:
    p = render_parts(recipient(), track_clicks=False, track_opens=False)
    assert "/t/c/" not in p.html + p.text
    assert "/t/o/" not in p.html
    assert 'href="https://shop.acme.example/sale?utm=mail&amp;x=1"' in p.html
    assert compile_default(track_clicks=False).links == []


def test_script_in_a_name_is_inert_in_html_and_raw_in_text() -> None:
    p = render_parts(recipient(first_name="<script>alert(1)</script>"))
    assert "<script>" not in p.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in p.html
    assert "Hello <script>alert(1)</script>!" in p.text
    assert p.subject == "Hi <script>alert(1)</script>, news from Acme"


def test_non_ascii_subject_and_display_name_are_encoded(keys: Keys) -> None:
    template = compile_default(from_name="Société Acme", subject="Grüße, {{first_name}} 🎉")
    (out,) = sender_rs.render_batch(template, [recipient(first_name="Zoë")], [keys.ed25519])
    assert isinstance(out, sender_rs.RenderedMessage)
    raw_head = out.data.split(b"\r\n\r\n", 1)[0]
    assert b"=?UTF-8?B?" in raw_head and raw_head.isascii()
    msg = parse(out.data)
    assert msg["Subject"] == "Grüße, Zoë 🎉"
    assert msg["From"].addresses[0].display_name == "Société Acme"
    assert verify(out.data, keys.dns())


def test_bad_recipients_fail_alone(keys: Keys) -> None:
    batch = [
        recipient(1),
        recipient(2, first_name="Eve\r\nBcc: victim@example.com"),
        sender_rs.Recipient("rcpt-3", "not an address", unsubscribe_token="u3"),
        sender_rs.Recipient("bad id!", "x@example.com", unsubscribe_token="u4"),
        recipient(5, custom={"address": {"city": {"nested": "object"}}, "plan": "x"}),
        sender_rs.Recipient("rcpt-6", "a@example.com\r\nBcc: x@y.example", unsubscribe_token="u6"),
        recipient(7),
    ]
    out = sender_rs.render_batch(compile_default(), batch, [keys.rsa], threads=2)
    kinds = [type(o).__name__ for o in out]
    assert kinds == ["RenderedMessage"] + ["RenderFailure"] * 5 + ["RenderedMessage"]
    assert [o.tracking_id for o in out] == [r.tracking_id for r in batch]
    assert all(b"victim" not in o.data for o in out if isinstance(o, sender_rs.RenderedMessage))


def test_errors_are_made_in_rust_and_re_exported_by_sender_rs_errors() -> None:
    for name in ["TemplateError", "HeaderError", "SigningKeyError", "RecipientError"]:
        cls = getattr(sender_rs.errors, name)
        assert cls is getattr(_sender_rs, name) is getattr(sender_rs, name)
        assert cls.__module__ == "sender_rs.errors"
        assert issubclass(cls, sender_rs.SenderError) and issubclass(cls, ValueError)
    assert issubclass(sender_rs.InternalError, sender_rs.SenderError)


@pytest.mark.parametrize("detach", [False, True])
def test_a_rust_panic_is_raised_as_internal_error(detach: bool) -> None:
    # Not PyO3's PanicException, a BaseException that `except Exception` would let through.
    with pytest.raises(sender_rs.InternalError, match="on purpose") as e:
        _sender_rs._panic_for_tests(detach)
    assert "a bug" in str(e.value)


def test_custom_fields_too_deep_or_too_big() -> None:
    deep: dict[str, object] = {}
    for _ in range(20):
        deep = {"a": deep}
    with pytest.raises(sender_rs.RecipientError, match="16 levels"):
        recipient(custom=deep)
    big = recipient(custom={"address": {"city": 2**70}, "plan": -(2**64)})
    p = render_parts(big)
    assert f"Your city: {2**70}. Plan: {-(2**64)}." in p.html


def test_compile_errors_report_line_and_column() -> None:
    with pytest.raises(sender_rs.TemplateError) as e:
        compile_default(html="<p>\n  Hi {{ firstname }}</p>")
    assert (e.value.part, e.value.line, e.value.column) == ("html", 2, 9)
    assert (e.value.message, str(e.value)) == (
        'unknown variable "firstname"',
        'html, line 2, column 9: unknown variable "firstname"',
    )
    assert isinstance(e.value, ValueError)
    with pytest.raises(sender_rs.TemplateError) as e:
        compile_default(subject="Hi {{ first_name ")
    assert (e.value.part, e.value.line, e.value.column) == ("subject", 1, 4)
    for bad in ("{{ custom }}", "{{ email | upper }}", "{{ email | default: there }}", "{{ }}"):
        with pytest.raises(sender_rs.TemplateError):
            compile_default(text=bad)


@pytest.mark.parametrize(
    "field",
    ["subject", "from_name", "list_name", "from_email", "reply_to"],
)
@pytest.mark.parametrize("char", ["\r", "\n", "\0"])
def test_header_inputs_with_cr_lf_or_nul_are_errors(field: str, char: str) -> None:
    value = f"news{char}Bcc: x@y.example"
    with pytest.raises(ValueError):
        compile_default(**{field: value})


def test_extra_headers_are_validated() -> None:
    t = compile_default(extra_headers=[("X-Campaign", "spring"), ("X-Note", "Grüße")])
    (out,) = sender_rs.render_batch(t, [recipient()])
    assert isinstance(out, sender_rs.RenderedMessage)
    msg = parse(out.data)
    assert msg["X-Campaign"] == "spring" and msg["X-Note"] == "Grüße"
    for bad in [("X-A", "a\r\nBcc: b"), ("Bad Name", "x"), ("Subject", "dup"), ("X:Y", "z")]:
        with pytest.raises(sender_rs.HeaderError):
            compile_default(extra_headers=[bad])


def test_dual_signing_both_signatures_verify(keys: Keys) -> None:
    data = render_one([keys.rsa, keys.ed25519])
    msg = parse(data)
    sigs = msg.get_all("DKIM-Signature")
    assert sigs is not None and len(sigs) == 2
    assert "a=rsa-sha256" in sigs[0] and "a=ed25519-sha256" in sigs[1]
    assert verify(data, keys.dns(), idx=0)
    assert verify(data, keys.dns(), idx=1)
    assert "l=" not in re.sub(r"\s", "", str(sigs[0])).replace("list-", "")


@pytest.mark.parametrize("algorithm", ["rsa", "ed25519"])
def test_one_changed_byte_fails_verification(keys: Keys, algorithm: str) -> None:
    key = keys.rsa if algorithm == "rsa" else keys.ed25519
    data = render_one([key])
    assert verify(data, keys.dns())
    head, body = data.split(b"\r\n\r\n", 1)
    i = body.index(b"Hello")
    assert not verify(head + b"\r\n\r\n" + body[:i] + b"J" + body[i + 1 :], keys.dns())
    j = head.index(b"Subject: Hi") + len(b"Subject: H")
    assert not verify(head[:j] + b"o" + head[j + 1 :] + b"\r\n\r\n" + body, keys.dns())


@pytest.mark.parametrize(
    "extra",
    [
        b"From: Mallory <m@evil.example>\r\n",
        b"Subject: Pay now\r\n",
        b"Reply-To: m@evil.example\r\n",
        b"List-Unsubscribe: <https://evil.example>\r\n",
    ],
)
def test_adding_a_second_oversigned_header_breaks_verification(keys: Keys, extra: bytes) -> None:
    data = render_one([keys.rsa, keys.ed25519])
    sig_end = data.index(b"\r\nFrom: ") + 2
    tampered = data[:sig_end] + extra + data[sig_end:]
    assert not verify(tampered, keys.dns(), idx=0)
    assert not verify(tampered, keys.dns(), idx=1)


def test_ses_profile_leaves_message_id_and_date_unsigned(keys: Keys) -> None:
    data = render_one([keys.rsa], profile="ses")
    sig = str(parse(data)["DKIM-Signature"])
    h = re.search(r"h=([^;]+);", sig)
    assert h
    names = re.sub(r"\s", "", h.group(1)).split(":")
    assert "date" not in names and "message-id" not in names
    assert "from" in names and "list-unsubscribe-post" in names
    # SES rewrites these two; the signature must survive it.
    rewritten = data.replace(
        b"Message-ID: <rcpt-1.cmp-1@acme.example>", b"Message-ID: <ses-1@email.amazonses.com>"
    )
    assert verify(rewritten, keys.dns())
    default_sig = str(parse(render_one([keys.rsa]))["DKIM-Signature"])
    assert "message-id" in default_sig and "date" in default_sig


def test_message_id_is_stable_for_campaign_and_recipient(keys: Keys) -> None:
    first = parse(render_one([keys.rsa]))["Message-ID"]
    again = parse(render_one([keys.ed25519]))["Message-ID"]
    assert first == again == "<rcpt-1.cmp-1@acme.example>"


def test_signing_keys_are_parsed_and_checked() -> None:
    assert sender_rs.SigningKey.from_pem(DOMAIN, "s", pem_rsa(4096)).algorithm == "rsa-sha256"
    small = sender_rs.SigningKey.from_pem("football.example.com", "test", rfc.RSA_PRIVATE_KEY)
    assert small.dns_txt() == rfc.RSA_DNS
    seed = base64.b64decode(rfc.ED25519_SEED_B64)
    ed = sender_rs.SigningKey.from_pem("football.example.com", "brisbane", pem_ed25519(seed))
    assert ed.dns_txt() == rfc.ED25519_DNS
    for bad in (
        "",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        pem_rsa(1024)[:-40],
    ):
        with pytest.raises(sender_rs.SigningKeyError):
            sender_rs.SigningKey.from_pem(DOMAIN, "s", bad)
    # cryptography will not make a 512-bit key; openssl will.
    weak = subprocess.run(
        ["openssl", "genrsa", "512"], capture_output=True, check=True, text=True
    ).stdout
    with pytest.raises(sender_rs.SigningKeyError, match="512 bits"):
        sender_rs.SigningKey.from_pem(DOMAIN, "s", weak)


def test_rfc8463_appendix_a_vectors_verify_and_our_signatures_verify_with_its_keys() -> None:
    records = {
        b"brisbane._domainkey.football.example.com.": rfc.ED25519_DNS.encode(),
        b"test._domainkey.football.example.com.": rfc.RSA_DNS.encode(),
    }
    assert verify(rfc.MESSAGE, records, idx=0)
    assert verify(rfc.MESSAGE, records, idx=1)
    seed = base64.b64decode(rfc.ED25519_SEED_B64)
    ed = sender_rs.SigningKey.from_pem("football.example.com", "brisbane", pem_ed25519(seed))
    rsa_key = sender_rs.SigningKey.from_pem("football.example.com", "test", rfc.RSA_PRIVATE_KEY)
    data = render_one([ed, rsa_key])
    assert verify(data, records, idx=0)
    assert verify(data, records, idx=1)


def test_threads_and_single_thread_give_identical_bytes(keys: Keys) -> None:
    template = compile_default()
    batch = [recipient(i, first_name=f"N{i}") for i in range(40)]
    one = sender_rs.render_batch(template, batch, [keys.ed25519], timestamp=TIMESTAMP, threads=1)
    two = sender_rs.render_batch(template, batch, [keys.ed25519], timestamp=TIMESTAMP, threads=2)
    assert [o.data for o in one] == [o.data for o in two]  # type: ignore[union-attr]


def test_render_batch_works_in_a_forked_child(keys: Keys) -> None:
    template = compile_default()
    batch = [recipient(i) for i in range(16)]
    # Use the pool in the parent first: a rayon pool inherited through fork has no threads.
    parent = sender_rs.render_batch(template, batch, [keys.rsa], timestamp=TIMESTAMP, threads=2)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child process
        try:
            out = sender_rs.render_batch(
                template, batch, [keys.rsa], timestamp=TIMESTAMP, threads=2
            )
            ok = [o.data for o in out] == [o.data for o in parent]  # type: ignore[union-attr]
            os.write(write_fd, b"ok" if ok else b"mismatch")
        finally:
            os._exit(0)
    os.close(write_fd)
    _, status = os.waitpid(pid, 0)
    assert os.read(read_fd, 16) == b"ok"
    assert os.waitstatus_to_exitcode(status) == 0


def test_the_gil_is_released_while_a_batch_renders(keys: Keys) -> None:
    template = compile_default()
    batch = [recipient(i) for i in range(300)]
    ticks = 0
    running = threading.Event()
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        running.set()
        while not stop.is_set():
            ticks += 1

    counter = threading.Thread(target=count)
    counter.start()
    running.wait()
    # The counter's rate while the main thread only sleeps.
    start, t0 = ticks, time.perf_counter()
    time.sleep(0.05)
    rate = (ticks - start) / (time.perf_counter() - t0)
    before, t0 = ticks, time.perf_counter()
    out = sender_rs.render_batch(template, batch, [keys.rsa], threads=1)
    elapsed = time.perf_counter() - t0
    during = ticks - before
    stop.set()
    counter.join()
    assert len(out) == 300 and elapsed > 0.05
    # Holding the GIL would allow at most one switch interval (5 ms) of counting.
    assert during > 0.3 * rate * elapsed, (during, rate, elapsed)


def test_a_contact_field_cannot_make_a_link_run_script() -> None:
    template = compile_default(html='<p><a href="{{ custom.site }}">site</a></p>')
    batch = [
        recipient(1, custom={"site": "javascript:alert(1)"}),
        recipient(2, custom={"site": "https://ada.example/"}),
    ]
    bad, good = sender_rs.render_batch(template, batch, output="parts")
    assert isinstance(bad, sender_rs.RenderFailure) and "custom.site" in bad.error
    assert isinstance(good, sender_rs.RenderedParts)
    assert '<a href="https://ada.example/">' in good.html
