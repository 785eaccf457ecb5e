"""Templates as the core sees them: the current state, its immutable versions, the edits a
client asks for and the rules their fields obey."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from openmailer.core.errors import ValidationError
from openmailer.core.ports.rendering import TemplateInvalid

MAX_NAME_CHARS = 255
MAX_SUBJECT_CHARS = 500  # email_templates.subject is VARCHAR(500)
MAX_PREVIEW_TEXT_CHARS = 255
MAX_DESCRIPTION_CHARS = 10_000
# Both parts at their longest still fit in one request (the API reads at most 1 MB).
MAX_BODY_CHARS = 400_000
CONTENT_PARTS = ("subject", "html", "text", "preview_text")


class TemplateType(StrEnum):
    """The values migration 005 allows (the spec names only the default, CUSTOM)."""

    CUSTOM = "CUSTOM"
    NEWSLETTER = "NEWSLETTER"
    PROMOTIONAL = "PROMOTIONAL"
    TRANSACTIONAL = "TRANSACTIONAL"
    WELCOME = "WELCOME"


@dataclass(frozen=True, slots=True)
class TemplateContent:
    """What a version holds. An HTML template has `html` (and may have `text`, else sender_rs
    derives it); a text-only one has `text` alone."""

    subject: str
    html: str | None = None
    text: str | None = None
    preview_text: str | None = None


@dataclass(frozen=True, slots=True)
class Template:
    id: int
    user_id: int
    name: str
    description: str | None
    template_type: str
    is_html: bool
    is_active: bool
    version: int
    content: TemplateContent
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TemplateVersion:
    template_id: int
    version: int
    content: TemplateContent
    created_at: datetime
    created_by: int | None


@dataclass(frozen=True, slots=True)
class TemplateSettings:
    """The fields of a template that are not content: changing them makes no version."""

    name: str
    description: str | None
    template_type: str
    is_html: bool
    is_active: bool


@dataclass(frozen=True, slots=True)
class NewTemplate:
    user_id: int
    settings: TemplateSettings
    content: TemplateContent


@dataclass(frozen=True, slots=True)
class TemplateChanges:
    """Only the fields the client sent. A nullable field set to null is named in `cleared`."""

    name: str | None = None
    description: str | None = None
    template_type: str | None = None
    is_html: bool | None = None
    is_active: bool | None = None
    subject: str | None = None
    html: str | None = None
    text: str | None = None
    preview_text: str | None = None
    cleared: frozenset[str] = field(default_factory=frozenset)

    def applied_to(self, current: Template) -> tuple[TemplateSettings, TemplateContent]:
        def pick(name: str, value: str | None, old: str | None) -> str | None:
            if name in self.cleared:
                return None
            return old if value is None else value

        settings = TemplateSettings(
            name=self.name if self.name is not None else current.name,
            description=pick("description", self.description, current.description),
            template_type=self.template_type or current.template_type,
            is_html=current.is_html if self.is_html is None else self.is_html,
            is_active=current.is_active if self.is_active is None else self.is_active,
        )
        old = current.content
        content = TemplateContent(
            subject=self.subject if self.subject is not None else old.subject,
            html=pick("html", self.html, old.html),
            text=pick("text", self.text, old.text),
            preview_text=pick("preview_text", self.preview_text, old.preview_text),
        )
        return settings, content


@dataclass(frozen=True, slots=True)
class TemplateRevision:
    """What an edit writes: the settings always, a new version only when the content changed."""

    settings: TemplateSettings
    content: TemplateContent | None


@dataclass(frozen=True, slots=True)
class RenderedPreview:
    subject: str
    html: str
    text: str


@dataclass(frozen=True, slots=True)
class SampleRecipient:
    """Who a preview is rendered for: a contact's fields, or sample data."""

    email: str
    first_name: str | None = None
    last_name: str | None = None
    custom: dict[str, object] = field(default_factory=dict)


class TemplateSyntaxError(ValidationError):
    """A part that sender_rs cannot compile; `field` is the part, `line`/`column` are 1-based
    (0 when sender_rs could not place it)."""

    code = "template_invalid"

    def __init__(self, detail: str, *, part: str, line: int, column: int) -> None:
        super().__init__(detail, field=part, code="template_invalid")
        self.line = line
        self.column = column

    @classmethod
    def of(cls, error: TemplateInvalid, *, default_part: str = "html") -> TemplateSyntaxError:
        part = error.part if error.part in CONTENT_PARTS else default_part
        return cls(str(error), part=part, line=error.line, column=error.column)


def check_settings(settings: TemplateSettings) -> None:
    if not 1 <= len(settings.name.strip()) <= MAX_NAME_CHARS:
        raise ValidationError(f"a name has 1 to {MAX_NAME_CHARS} characters", field="name")
    if settings.description is not None and len(settings.description) > MAX_DESCRIPTION_CHARS:
        raise ValidationError(
            f"a description has at most {MAX_DESCRIPTION_CHARS} characters", field="description"
        )
    if settings.template_type not in TemplateType.__members__:
        raise ValidationError(
            f"template_type is one of {', '.join(TemplateType)}", field="template_type"
        )


def check_content(content: TemplateContent, *, is_html: bool) -> None:
    """The shape of the content; whether sender_rs can compile it is checked after."""
    _check_single_line(content.subject, "subject", MAX_SUBJECT_CHARS)
    if not content.subject.strip():
        raise ValidationError("subject must not be empty", field="subject")
    if content.preview_text is not None:
        _check_single_line(content.preview_text, "preview_text", MAX_PREVIEW_TEXT_CHARS)
    for name, body in (("html", content.html), ("text", content.text)):
        if body is not None and len(body) > MAX_BODY_CHARS:
            raise ValidationError(f"{name} is longer than {MAX_BODY_CHARS} characters", field=name)
    if is_html and not (content.html or "").strip():
        raise ValidationError("an HTML template needs html", field="html", code="no_content")
    if not is_html:
        if content.html is not None:
            raise ValidationError(
                "a text-only template (is_html false) has no html", field="html", code="html_set"
            )
        if not (content.text or "").strip():
            raise ValidationError(
                "a text-only template needs text", field="text", code="no_content"
            )


def _check_single_line(value: str, name: str, max_chars: int) -> None:
    # The subject becomes a header, the preview text a hidden line: CR, LF and NUL never belong.
    if any(bad in value for bad in ("\r", "\n", "\0")):
        raise ValidationError(
            f"{name} must not contain CR, LF or NUL", field=name, code="header_injection"
        )
    if len(value) > max_chars:
        raise ValidationError(f"{name} is longer than {max_chars} characters", field=name)


def main_body(content: TemplateContent, *, is_html: bool) -> str:
    """What the spec's `body` column holds: the HTML, or the text of a text-only template."""
    return (content.html if is_html else content.text) or ""
