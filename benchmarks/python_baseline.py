"""The pure-Python pipeline the Rust core is measured against: jinja2 render, regex link
rewrite, stdlib `email` MIME and dkimpy signing, one message at a time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from email.message import EmailMessage
from email.utils import formatdate

import dkim
import jinja2

from benchmarks.workload import BASE_URL, DOMAIN, SECRET, SUBJECT, html_template

_HREF = re.compile(r'href="(https?://[^"]+)"')
_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"[ \t]+")


def _jinja(source: str) -> str:
    # Our `| default: 'x'` is jinja2's `| default('x')`; `custom.city` works as is.
    return re.sub(r"default: ('[^']*')", r"default(\1)", source)


class PythonPipeline:
    def __init__(self, campaign_id: str, dkim_pem: bytes | None, selector: bytes = b"s1") -> None:
        env = jinja2.Environment(autoescape=True)
        self.html = env.from_string(_jinja(html_template()))
        self.subject = jinja2.Environment(autoescape=False).from_string(_jinja(SUBJECT))
        self.campaign_id = campaign_id
        self.key = dkim_pem
        self.selector = selector
        self.links: dict[str, int] = {}

    def _token(self, tracking_id: str, index: int) -> str:
        mac = hmac.new(SECRET, f"c\0{tracking_id}\0{index}".encode(), hashlib.sha256).digest()
        return f"{tracking_id}.{index}.{base64.urlsafe_b64encode(mac[:16]).rstrip(b'=').decode()}"

    def render(self, r: dict[str, object]) -> bytes:
        tid = str(r["tracking_id"])
        unsubscribe = f"{BASE_URL}/u/{r['unsubscribe_token']}"
        html = self.html.render(
            first_name=r["first_name"], custom=r["custom"], unsubscribe_url=unsubscribe
        )

        def rewrite(m: re.Match[str]) -> str:
            url = m.group(1).replace("&amp;", "&")
            if url == unsubscribe:
                return m.group(0)
            index = self.links.setdefault(url, len(self.links))
            return f'href="{BASE_URL}/t/c/{self._token(tid, index)}"'

        html = _HREF.sub(rewrite, html)
        mac = hmac.new(SECRET, f"o\0{tid}".encode(), hashlib.sha256).digest()[:16]
        pixel = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
        html = html.replace(
            "</body>", f'<img src="{BASE_URL}/t/o/{tid}.{pixel}.gif" width="1" height="1"></body>'
        )
        text = _SPACE.sub(" ", _TAGS.sub("", html))

        msg = EmailMessage()
        msg["From"] = f"Acme News <news@{DOMAIN}>"
        msg["To"] = str(r["email"])
        msg["Subject"] = self.subject.render(first_name=r["first_name"])
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = f"<{tid}.{self.campaign_id}@{DOMAIN}>"
        msg["List-Unsubscribe"] = f"<{unsubscribe}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg["List-Id"] = f"<news.{DOMAIN}>"
        msg.set_content(text)
        msg.add_alternative(html, subtype="html")
        data = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
        if self.key is None:
            return data
        headers = [
            b"from", b"to", b"subject", b"date", b"message-id", b"mime-version",
            b"content-type", b"list-unsubscribe", b"list-unsubscribe-post", b"list-id",
        ]  # fmt: skip
        signature = dkim.sign(
            data,
            self.selector,
            DOMAIN.encode(),
            self.key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=headers,
        )
        return signature + data
