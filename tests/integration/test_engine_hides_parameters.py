"""A failing statement's error names the SQL but never its bound values (hashes, sealed secrets)."""

from __future__ import annotations

import io
import logging
import traceback

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from openmailer.adapters.db.engine import create_engine

pytestmark = pytest.mark.integration

SECRET = "v1:k1:c2VhbGVkLXNlY3JldC10aGF0LW11c3Qtbm90LWxlYWs"


async def test_a_failing_statement_leaves_its_parameters_out_of_errors_and_logs(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    log_text = io.StringIO()
    handler = logging.StreamHandler(log_text)
    logger = logging.getLogger("openmailer.test.engine")
    logger.addHandler(handler)
    try:
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError) as failure:
                # Division by zero: PostgreSQL's own message does not echo the value either.
                await conn.execute(text("SELECT CAST(:sealed AS text), 1 / 0"), {"sealed": SECRET})
        logger.error("statement failed", exc_info=failure.value)
    finally:
        logger.removeHandler(handler)
        await engine.dispose()

    rendered = "".join(traceback.format_exception(failure.value))
    assert "division by zero" in rendered  # the error itself is still told
    assert SECRET not in rendered
    assert "division by zero" in log_text.getvalue()
    assert SECRET not in log_text.getvalue()
