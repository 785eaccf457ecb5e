"""docs/plugins.md's Python examples (a segment operator, a provider) run, in order, as one
module: the guide cannot rot."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest
from sqlalchemy.dialects import postgresql

from openmailer.adapters.db.segment_sql import compile_group
from openmailer.core.segments.conditions import Group

pytestmark = pytest.mark.unit

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "plugins.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)


def test_the_guide_has_a_complete_example() -> None:
    blocks = python_blocks()
    assert len(blocks) >= 2
    assert "@hookimpl" in blocks[0] and "openmailer.adapters" not in "".join(blocks)


def test_the_guides_examples_run_and_the_operator_compiles_to_bound_sql() -> None:
    module = types.ModuleType("docs_plugin_example")
    sys.modules[module.__name__] = module
    try:
        for block in python_blocks():
            exec(compile(block, str(GUIDE), "exec"), module.__dict__)
        checked: Group = module.checked
        registry = module.areas.segment_operators
        expression = compile_group(checked, registry, user_id=7)
        sql = str(expression.compile(dialect=postgresql.dialect()))
        assert "length(contacts.first_name) >" in sql
        assert "3" not in sql  # the value is a bound parameter
        # The provider example sent its card in parts (the block asserts what it received).
        assert module.client.cards == [("ada@example.net", "Hello Ada", "Greetings from Acme")]
        assert module.areas.providers["POSTCARD"].message_form.value == "parts"
    finally:
        del sys.modules[module.__name__]
