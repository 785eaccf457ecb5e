"""A local HTTP server speaking SendGrid's v3 API, enough for the SendGrid provider.

`POST /v3/mail/send` checks the bearer key, then the body's shape as SendGrid does
(personalizations with `to`, `from.email`, a subject, `content` or a template, header names it
reserves) and answers 400 with `errors[]` naming the field; a valid message is recorded and
answered 202 with an `X-Message-Id`. `GET /v3/scopes` lists the key's scopes. Tests script
the next answers of mail/send in `modes`: `accept`, `throttle` (429 with `Retry-After`),
`server_error` (500), `too_large` (413), or DROP (the connection closes unanswered).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tests.integration.sending.http_peers import DROP, Answer, Received, ScriptedServer

API_KEY = "SG.test-key.0123456789"
RESERVED = {"to", "from", "subject", "reply-to", "cc", "bcc", "content-type", "dkim-signature"}


def _errors(*errors: tuple[str | None, str], status: int = 400) -> Answer:
    body = {"errors": [{"field": f, "message": m, "help": None} for f, m in errors]}
    return Answer(status, json.dumps(body).encode(), (("Content-Type", "application/json"),))


def shape_errors(body: Any) -> list[tuple[str | None, str]]:
    if not isinstance(body, dict):
        return [(None, "Bad Request")]
    found: list[tuple[str | None, str]] = []
    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        found.append(("personalizations", "The personalizations field is required."))
    else:
        for i, p in enumerate(personalizations):
            to = p.get("to") if isinstance(p, dict) else None
            if not isinstance(to, list) or not to or not all("@" in t.get("email", "") for t in to):
                found.append((f"personalizations.{i}.to", "The to array is required."))
    sender = body.get("from")
    if not isinstance(sender, dict) or "@" not in str(sender.get("email", "")):
        found.append(("from.email", "The from email does not contain a valid address."))
    if "template_id" not in body:
        if not body.get("subject"):
            found.append(("subject", "The subject is required."))
        content = body.get("content")
        if not isinstance(content, list) or not content:
            found.append(
                ("content", "Unless a valid template_id is provided, content is required.")
            )
        elif content[0].get("type") != "text/plain" and any(
            c.get("type") == "text/plain" for c in content
        ):
            found.append(("content.0.type", "The text/plain content type must be first."))
    for name in body.get("headers") or {}:
        if name.lower() in RESERVED:
            found.append((f"headers.{name}", f"The {name} header is reserved."))
    return found


@dataclass
class SendgridServer:
    scopes: list[str] = field(default_factory=lambda: ["mail.send", "user.profile.read"])
    modes: list[str] = field(default_factory=list)
    retry_after: str = "1"
    accepted: list[dict[str, Any]] = field(default_factory=list)
    peer: ScriptedServer = field(default_factory=ScriptedServer)

    def start(self) -> SendgridServer:
        self.peer.respond = self._respond
        self.peer.start()
        return self

    def stop(self) -> None:
        self.peer.stop()

    @property
    def url(self) -> str:
        return self.peer.url

    @property
    def requests(self) -> list[Received]:
        return self.peer.received

    def _respond(self, request: Received) -> Answer | str:
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return _errors((None, "The provided authorization grant is invalid."), status=401)
        if request.method == "GET" and request.path == "/v3/scopes":
            return Answer(200, json.dumps({"scopes": self.scopes}).encode())
        if request.method != "POST" or request.path != "/v3/mail/send":
            return _errors((None, "not found"), status=404)
        mode = self.modes.pop(0) if self.modes else "accept"
        if mode == DROP:
            return DROP
        if mode == "throttle":
            return Answer(
                429,
                json.dumps({"errors": [{"field": None, "message": "too many requests"}]}).encode(),
                (("Retry-After", self.retry_after),),
            )
        if mode == "server_error":
            return _errors((None, "internal error"), status=500)
        if mode == "too_large":
            return _errors(("content", "The request is too large."), status=413)
        try:
            body = json.loads(request.body)
        except ValueError:
            return _errors((None, "Bad Request"))
        problems = shape_errors(body)
        if problems:
            return _errors(*problems)
        self.accepted.append(body)
        return Answer(202, b"", (("X-Message-Id", f"sg-{len(self.accepted)}"),))
