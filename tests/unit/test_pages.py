"""Keyset cursors: what goes in comes out, and a cursor that is not ours is a 4xx."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openmailer.core.errors import ValidationError
from openmailer.core.pages import decode_cursor, encode_cursor

pytestmark = pytest.mark.unit

key_parts = st.one_of(st.integers(-(2**62), 2**62), st.text(max_size=40))


@given(st.lists(key_parts, min_size=1, max_size=3))
def test_a_cursor_carries_its_sort_key(key: list[str | int]) -> None:
    assert decode_cursor(encode_cursor(key), arity=len(key)) == key


@pytest.mark.parametrize(
    "cursor",
    ["", "!!!", "bm90IGpzb24", encode_cursor([1]), "W3RydWUsMV0", "x" * 3000, "WzEsWzJdXQ"],
)
def test_a_foreign_or_tampered_cursor_is_a_validation_error(cursor: str) -> None:
    with pytest.raises(ValidationError) as raised:
        decode_cursor(cursor, arity=2)
    assert raised.value.code == "bad_cursor"
