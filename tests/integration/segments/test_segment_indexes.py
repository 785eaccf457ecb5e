"""Range rules on custom fields take the expression-index path docs/segments.md documents: the
compiler writes the indexed expression with the keys as literals, and with the documented index
in place EXPLAIN shows it serving the range, in custom and in generic plans. An equality rule on a
custom field with its documented B-tree is written for that index and counts what `@>` counts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from openmailer.adapters.db.custom_field_indexes import indexed_custom_paths
from openmailer.adapters.db.explain import Explain
from openmailer.adapters.db.segment_sql import count_statement
from openmailer.adapters.db.segments import SqlAlchemyAudienceQuery
from openmailer.adapters.db.unit_of_work import SharedTransaction
from openmailer.core.accounts.service import AccountsPorts as Accounts
from openmailer.core.segments.conditions import parse_conditions
from tests.integration.accounts.accounts_helpers import make_user

pytestmark = pytest.mark.integration

DOC = Path(__file__).parents[3] / "docs" / "segments.md"
CONTACTS = 5_000
# Ages 0..89 (every hundredth "unknown", which a plain ::numeric index could not hold) and
# ISO birthdays a week apart from 1950.
GENERATE = """
INSERT INTO contacts (user_id, email, custom_fields)
SELECT $1, 'i' || g || '@index.example', jsonb_build_object(
    'age', CASE WHEN g % 100 = 0 THEN to_jsonb('unknown'::text) ELSE to_jsonb(g % 90) END,
    'birthday', to_char(date '1950-01-01' + g * 7, 'YYYY-MM-DD'))
FROM generate_series(1, $2) AS g
"""
# The indexes of `contacts` that back no constraint, but the one under test.
OTHER_INDEXES = """
SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = 'contacts'::regclass AND c.relname <> $1
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
"""
RANGE_RULES = [
    ("custom_fields.age", "between", [30, 31], "idx_contacts_custom_age", "'number'"),
    ("custom_fields.age", "greater_than", 88, "idx_contacts_custom_age", "'number'"),
    (
        "custom_fields.birthday",
        "less_than",
        "1951-01-01",
        "idx_contacts_custom_birthday",
        "'string'",
    ),
]


def documented_indexes() -> dict[str, str]:
    """docs/segments.md's CREATE INDEX statements by index name, without CONCURRENTLY (the test
    builds them in a transaction it rolls back)."""
    found = {}
    for block in re.findall(r"```sql\n(.*?)```", DOC.read_text(), re.S):
        name = re.search(r"CREATE INDEX CONCURRENTLY (\w+) ON contacts", block)
        assert name is not None, block
        found[name.group(1)] = block.replace(" CONCURRENTLY", "")
    return found


def compiled(engine: AsyncEngine, app: Litestar, owner: int, rule: dict[str, Any]) -> Any:
    operators = app.state.areas.segment_operators
    group = parse_conditions({"operator": "AND", "rules": [rule]}, operators)
    statement = count_statement(owner, group, operators, list_id=None)
    return statement.compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True})


@pytest.mark.parametrize(("field", "operator", "value", "index", "json_type"), RANGE_RULES)
async def test_a_range_rule_on_a_custom_field_uses_the_documented_expression_index(
    app: Litestar,
    accounts: Accounts,
    field: str,
    operator: str,
    value: Any,
    index: str,
    json_type: str,
) -> None:
    engine: AsyncEngine = app.state.resources.engine
    owner = (await make_user(accounts)).id
    key = field.removeprefix("custom_fields.")
    query = compiled(engine, app, owner, {"field": field, "operator": operator, "value": value})
    sql = str(query)
    # The path and the type test are literals, as in the index; the rule's value stays bound.
    assert f"custom_fields -> '{key}'" in sql and f"custom_fields ->> '{key}'" in sql, sql
    assert json_type in sql, sql
    bounds = value if isinstance(value, list) else [value]
    assert set(bounds) <= set(query.params.values()), query.params
    arguments = ", ".join(f"'{query.params[name]}'" for name in query.positiontup or [])

    async with engine.connect() as conn:
        pg = (await conn.get_raw_connection()).driver_connection
        assert pg is not None
        transaction = pg.transaction()
        await transaction.start()
        prepared = False
        try:
            await pg.execute(GENERATE, owner, CONTACTS)
            await pg.execute(documented_indexes()[index])
            # Generic plans cost `> $2` at a guessed third of the rows, so on a table other
            # tests filled the plain user_id indexes can look cheaper; without them (dropped in
            # this transaction, which rolls back) and without a sequential scan on offer, only
            # an index whose expression matches the rule's can serve it.
            for (other,) in await pg.fetch(OTHER_INDEXES, index):
                await pg.execute(f'DROP INDEX "{other}"')
            await pg.execute("ANALYZE contacts")
            await pg.execute("SET LOCAL enable_seqscan = off")
            await pg.execute(f"PREPARE segment_count AS {sql}")
            prepared = True
            expected = await pg.fetchval(f"EXECUTE segment_count({arguments})")
            plans = {}
            for mode in ("force_custom_plan", "force_generic_plan"):
                await pg.execute(f"SET LOCAL plan_cache_mode = {mode}")
                rows = await pg.fetch(f"EXPLAIN EXECUTE segment_count({arguments})")
                plans[mode] = "\n".join(row[0] for row in rows)
        finally:
            await transaction.rollback()
            if prepared:  # a prepared statement outlives the transaction, on a pooled connection
                await pg.execute("DEALLOCATE segment_count")
    assert expected > 0
    for mode, plan in plans.items():
        lines = plan.splitlines()
        scans = [n for n, line in enumerate(lines) if "Scan" in line and f" {index} " in line]
        assert scans, (mode, plan)
        scan = scans[0]
        # The range itself is the index condition, not a filter after a user_id lookup.
        assert "Index Cond" in lines[scan + 1] and "CASE WHEN" in lines[scan + 1], (mode, plan)


# Values `@>` and `->` equality must agree on: numbers by value, an array holding the value and
# a nested object matching neither, a missing key matching nothing.
PLANS = """
INSERT INTO contacts (user_id, email, custom_fields)
SELECT :owner, 'plan' || g || '@index.example', (ARRAY[
    '{"plan": "gold", "level": 2}', '{"plan": "gold", "level": 2.0}', '{"plan": "gold"}',
    '{"plan": "free", "level": 3}', '{"plan": "free"}', '{"plan": ["gold"]}',
    '{"plan": {"gold": true}}', '{"other": "gold"}'])[g]::jsonb
FROM generate_series(1, 8) AS g
"""
# Enough other contacts of the owner that only an index on the rule, not one on `user_id`
# alone, is worth reading for it (the table also holds other tests' users).
FILLER = """
INSERT INTO contacts (user_id, email, custom_fields)
SELECT :owner, 'filler' || g || '@index.example', '{"plan": "silver"}'::jsonb
FROM generate_series(1, 2000) AS g
"""
EQUALITY_RULES = {
    "equals": ({"field": "custom_fields.plan", "operator": "equals", "value": "gold"}, 3),
    "in": ({"field": "custom_fields.plan", "operator": "in", "value": ["gold", "free"]}, 5),
    "not_equals": (
        {"field": "custom_fields.plan", "operator": "not_equals", "value": "gold"},
        5 + 2000,
    ),
    "number": ({"field": "custom_fields.level", "operator": "equals", "value": 2}, 2),
}


async def test_an_equality_rule_on_a_custom_field_with_its_btree_counts_the_same_through_it(
    app: Litestar, accounts: Accounts
) -> None:
    engine: AsyncEngine = app.state.resources.engine
    operators = app.state.areas.segment_operators
    owner = (await make_user(accounts)).id
    groups = {
        name: parse_conditions({"operator": "AND", "rules": [rule]}, operators)
        for name, (rule, _) in EQUALITY_RULES.items()
    }
    async with engine.connect() as conn:
        transaction = await conn.begin()  # rolled back: the indexes never outlive the test
        try:
            await conn.execute(text(PLANS), {"owner": owner})
            await conn.execute(text(FILLER), {"owner": owner})
            query = SqlAlchemyAudienceQuery(SharedTransaction(conn), operators)

            async def counts() -> dict[str, int]:
                return {
                    name: await query.count(owner, group, list_id=None)
                    for name, group in groups.items()
                }

            assert ("plan",) not in await indexed_custom_paths(conn)
            through_gin = await counts()
            await conn.execute(text(documented_indexes()["idx_contacts_custom_plan"]))
            await conn.execute(
                text("CREATE INDEX level ON contacts (user_id, (custom_fields->'level'))")
            )
            await conn.execute(text("ANALYZE contacts"))
            indexed = await indexed_custom_paths(conn)
            assert {("plan",), ("level",)} <= indexed
            through_btree = await counts()

            statement = count_statement(
                owner, groups["equals"], operators, list_id=None, indexed=indexed
            )
            sql = str(
                statement.compile(
                    dialect=engine.dialect, compile_kwargs={"render_postcompile": True}
                )
            )
            assert "custom_fields -> 'plan') = " in sql and "@>" not in sql, sql
            # As for the ranges above: only the index under test (and constraints) on offer,
            # so the plan shows whether the compiler's SQL can use it.
            others = await conn.exec_driver_sql(OTHER_INDEXES, ("idx_contacts_custom_plan",))
            for (other,) in others.all():
                await conn.execute(text(f'DROP INDEX "{other}"'))
            await conn.execute(text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join(row[0] for row in await conn.execute(Explain(statement)))
        finally:
            await transaction.rollback()
    expected = {name: count for name, (_, count) in EQUALITY_RULES.items()}
    assert through_gin == expected
    assert through_btree == expected
    assert "idx_contacts_custom_plan" in plan, plan
