from __future__ import annotations

import pytest

from openmailer.adapters.db.custom_field_indexes import path_of_expression

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("expression", "path"),
    [
        ("(custom_fields -> 'plan'::text)", ("plan",)),
        ("((custom_fields -> 'address'::text) -> 'zip'::text)", ("address", "zip")),
        ("custom_fields", None),  # the GIN index's key: the whole document
        ("(custom_fields ->> 'plan'::text)", None),  # text, not the JSONB the rule compares
        ("((custom_fields -> 'a'::text) ->> 'b'::text)", None),
        ("lower((email)::text)", None),
        ("(tags -> 'plan'::text)", None),
    ],
)
def test_only_a_chain_of_json_steps_on_custom_fields_names_a_path(
    expression: str, path: tuple[str, ...] | None
) -> None:
    assert path_of_expression(expression) == path
