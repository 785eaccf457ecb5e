"""The double opt-in confirmation mail.

The list's and owner's names reach the template as variables, never as template text: a list
named `{{ x }}` is shown as typed, and the renderer HTML-escapes variables in the HTML part.
"""

from __future__ import annotations

import unicodedata

from openmailer.core.messages.model import MessageDraft
from openmailer.core.recipients.model import PublicForm

SUBJECT = "Confirm your subscription to {{ custom.list_name }}"
TEXT = """Hello,

someone (we hope you) asked to receive {{ custom.list_name }} from {{ custom.owner_name }} at this
address. To confirm, open this link and press the button on the page:

{{ custom.confirm_url }}

If it was not you, ignore this mail: nothing will be sent to you.
"""
HTML = """<!DOCTYPE html>
<html lang="en"><body>
<p>Hello,</p>
<p>someone (we hope you) asked to receive <strong>{{ custom.list_name }}</strong> from
{{ custom.owner_name }} at this address. To confirm, open this link and press the button on the
page:</p>
<p><a href="{{ custom.confirm_url }}">Confirm my subscription</a></p>
<p>If it was not you, ignore this mail: nothing will be sent to you.</p>
</body></html>
"""


def _one_line(value: str) -> str:
    """Without control characters (the subject is a header), at most 200 characters."""
    kept = "".join(" " if unicodedata.category(c).startswith("C") else c for c in value)
    return " ".join(kept.split())[:200]


def confirmation_draft(form: PublicForm, *, sender: str, to: str, confirm_url: str) -> MessageDraft:
    return MessageDraft(
        from_email=sender,
        from_name=_one_line(form.owner_name) or None,
        to=to,
        subject=SUBJECT,
        html=HTML,
        text=TEXT,
        variables={
            "list_name": _one_line(form.list_name),
            "owner_name": _one_line(form.owner_name),
            "confirm_url": confirm_url,
        },
    )
