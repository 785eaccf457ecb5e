"""The templates area's rules without I/O: what a PATCH merges into, which content is valid, and
how a compile error becomes a problem with its place."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from openmailer.core.errors import ValidationError
from openmailer.core.ports.rendering import TemplateInvalid
from openmailer.core.templates.model import (
    Template,
    TemplateChanges,
    TemplateContent,
    TemplateSyntaxError,
    check_content,
    main_body,
)

NOW = datetime(2026, 12, 2, tzinfo=UTC)
CURRENT = Template(
    id=1,
    user_id=2,
    name="Welcome",
    description="first",
    template_type="WELCOME",
    is_html=True,
    is_active=True,
    version=3,
    content=TemplateContent(subject="Hi", html="<p>Hi</p>", text="Hi", preview_text="p"),
    created_at=NOW,
    updated_at=NOW,
)


def test_unsent_fields_keep_their_value_and_cleared_ones_become_null() -> None:
    settings, content = TemplateChanges(
        subject="New", cleared=frozenset({"text", "description"})
    ).applied_to(CURRENT)
    assert content == TemplateContent(subject="New", html="<p>Hi</p>", text=None, preview_text="p")
    assert settings.description is None and settings.name == "Welcome"
    assert settings.template_type == "WELCOME" and settings.is_active


def test_settings_alone_leave_the_content_equal() -> None:
    settings, content = TemplateChanges(name="Renamed", is_active=False).applied_to(CURRENT)
    assert content == CURRENT.content
    assert (settings.name, settings.is_active) == ("Renamed", False)


@pytest.mark.parametrize(
    ("content", "is_html", "field"),
    [
        (TemplateContent(subject="a\nb", html="x"), True, "subject"),
        (TemplateContent(subject=" ", html="x"), True, "subject"),
        (TemplateContent(subject="s", text="x"), True, "html"),
        (TemplateContent(subject="s", html="x", text="y"), False, "html"),
        (TemplateContent(subject="s"), False, "text"),
        (TemplateContent(subject="s", html="x", preview_text="a\rb"), True, "preview_text"),
    ],
)
def test_content_rules_name_the_field(content: TemplateContent, is_html: bool, field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        check_content(content, is_html=is_html)
    assert raised.value.field == field


def test_the_spec_body_is_the_html_or_the_text_of_a_text_only_template() -> None:
    content = TemplateContent(subject="s", html="<p>h</p>", text="t")
    assert main_body(content, is_html=True) == "<p>h</p>"
    assert main_body(TemplateContent(subject="s", text="t"), is_html=False) == "t"


def test_a_compile_error_keeps_its_part_and_place() -> None:
    error = TemplateSyntaxError.of(TemplateInvalid("unknown variable", "text", 2, 5))
    assert (error.field, error.line, error.column, error.code) == ("text", 2, 5, "template_invalid")
    unplaced = TemplateSyntaxError.of(TemplateInvalid("bad key"))
    assert (unplaced.field, unplaced.line, unplaced.column) == ("html", 0, 0)
