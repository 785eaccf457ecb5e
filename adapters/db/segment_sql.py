"""Segment conditions compiled to SQLAlchemy Core over `contacts`; rule values are bound parameters.

Every value a rule carries reaches PostgreSQL as a parameter; field names come from the core's
fixed list. Tag and custom-field containment use `@>` / `&&`, which the GIN indexes
`idx_contacts_tags` and `idx_contacts_custom_fields` serve.

Custom field keys (`[A-Za-z0-9_-]{1,64}`, checked by the core) and the constants around them are
rendered into the SQL as quoted literals (`custom_fields -> 'age'`), not parameters: an expression
index matches only an expression built from constants, and a prepared statement's generic plan
sees parameters as unknowns. So a range rule on `custom_fields.age` is written exactly as the
expression index docs/segments.md documents, in custom and generic plans alike.
A NOT group reads an unknown (NULL) as false before negating, so rules keep two-valued meaning.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Numeric,
    Select,
    Table,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.types import Text

from openmailer.adapters.db.tables.campaigns import CampaignRecipient
from openmailer.adapters.db.tables.contacts import Contact, ContactList, ContactListMembership
from openmailer.core.registry import Registry
from openmailer.core.segments.conditions import Group, Junction, Rule
from openmailer.core.segments.operators import Engagement, FieldKind, SegmentOperator

CONTACTS = cast(Table, Contact.__table__)
LISTS = cast(Table, ContactList.__table__)
MEMBERSHIPS = cast(Table, ContactListMembership.__table__)
RECIPIENTS = cast(Table, CampaignRecipient.__table__)
ISO_DATE_START = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"


def _constant(text: str) -> Any:
    """A string from this module or a checked custom field key, rendered as a quoted literal
    (SQLAlchemy escapes it) so that expression indexes can match the SQL (see above)."""
    return literal(text, Text, literal_execute=True)


def _wrong_kind(kind: FieldKind, what: str) -> TypeError:
    return TypeError(f"{what} does not apply to a {kind.value} field")


Indexed = frozenset[tuple[str, ...]]  # custom-field paths with a B-tree (custom_field_indexes)
_SCALARS = (str, int, float, bool)


class ContactField:
    """`FieldSql` for one rule's field, for one caller (`user_id` bounds list membership)."""

    def __init__(self, rule: Rule, user_id: int, indexed: Indexed = frozenset()) -> None:
        self._rule = rule
        self._user_id = user_id
        self._indexed = indexed

    @property
    def kind(self) -> FieldKind:
        return self._rule.kind

    def _column(self) -> Any:
        return CONTACTS.c[self._rule.field]

    def _node(self) -> Any:
        """The JSONB value at the custom field's path (`custom_fields -> 'a' -> 'b'`)."""
        return self._walk("->", JSONB)

    def _node_text(self) -> Any:
        """The same value as text (`custom_fields -> 'a' ->> 'b'`)."""
        return self._walk("->>", Text)

    def _walk(self, last_step: str, result: Any) -> Any:
        if self.kind is not FieldKind.CUSTOM:
            raise _wrong_kind(self.kind, "a JSON path")
        node: Any = CONTACTS.c.custom_fields
        *inner, last = self._rule.path
        for key in inner:
            node = node.op("->", return_type=JSONB)(_constant(key))
        return node.op(last_step, return_type=result)(_constant(last))

    def value(self) -> Any:
        if self.kind in (FieldKind.TEXT, FieldKind.TIMESTAMP, FieldKind.TAGS):
            return self._column()
        if self.kind is FieldKind.CUSTOM:
            return self._node_text()
        raise _wrong_kind(self.kind, "value()")

    def json_type(self) -> Any:
        return func.jsonb_typeof(self._node())

    def _is(self, json_type: str) -> Any:
        return self.json_type() == _constant(json_type)

    def number(self) -> Any:
        return case((self._is("number"), self._node_text().cast(Numeric)), else_=None)

    def date_text(self) -> Any:
        text = self._node_text()
        is_date = and_(self._is("string"), text.op("~")(_constant(ISO_DATE_START)))
        # The explicit collation governs the comparison; coercing back to plain Text keeps
        # SQLAlchemy from also writing COLLATE after the bound values (invalid in BETWEEN).
        return case((is_date, type_coerce(text.collate("C"), Text)), else_=None)

    def _document(self, value: Any) -> dict[str, Any]:
        document: Any = value
        for key in reversed(self._rule.path):
            document = {key: document}
        return cast(dict[str, Any], document)

    def contains(self, value: Any) -> Any:
        if self.kind is FieldKind.TAGS:
            return CONTACTS.c.tags.contains(literal([value], ARRAY(Text)))
        if self.kind is FieldKind.CUSTOM:
            if isinstance(value, _SCALARS) and self._rule.path in self._indexed:
                # The same matches as `@>` for a scalar, in the form the B-tree serves.
                return self._node() == literal(value, JSONB)
            return CONTACTS.c.custom_fields.contains(literal(self._document(value), JSONB))
        raise _wrong_kind(self.kind, "containment")

    def overlaps(self, values: list[Any]) -> Any:
        if self.kind is FieldKind.TAGS:
            return CONTACTS.c.tags.overlap(literal(values, ARRAY(Text)))
        if self.kind is FieldKind.CUSTOM:
            return or_(*(self.contains(value) for value in values))
        raise _wrong_kind(self.kind, "overlap")

    def present(self) -> Any:
        kind = self.kind
        if kind is FieldKind.TEXT:
            return func.coalesce(self._column() != "", false())
        if kind is FieldKind.TIMESTAMP:
            return self._column().is_not(None)
        if kind is FieldKind.TAGS:
            return func.coalesce(func.cardinality(self._column()), 0) > 0
        if kind is FieldKind.CUSTOM:
            kind_of_json = self.json_type()
            return case(
                (kind_of_json == "string", self._node_text() != ""),
                (kind_of_json == "array", func.jsonb_array_length(self._node()) > 0),
                (kind_of_json == "object", self._node_text() != "{}"),
                (kind_of_json.in_(["number", "boolean"]), true()),
                else_=false(),
            )
        if kind is FieldKind.MEMBERSHIP:
            return self._membership(None)
        return self.engaged(Engagement())

    def member_of(self, list_ids: list[int]) -> Any:
        if self.kind is not FieldKind.MEMBERSHIP:
            raise _wrong_kind(self.kind, "member_of()")
        return self._membership(list_ids)

    def _membership(self, list_ids: list[int] | None) -> Any:
        conditions = [
            MEMBERSHIPS.c.contact_id == CONTACTS.c.id,
            MEMBERSHIPS.c.status == "ACTIVE",
            LISTS.c.user_id == self._user_id,
        ]
        if list_ids is not None:
            conditions.append(MEMBERSHIPS.c.list_id.in_(list_ids))
        joined = MEMBERSHIPS.join(LISTS, LISTS.c.id == MEMBERSHIPS.c.list_id)
        return exists(select(1).select_from(joined).where(*conditions))

    def engaged(self, engagement: Engagement) -> Any:
        if self.kind is not FieldKind.ENGAGEMENT:
            raise _wrong_kind(self.kind, "engaged()")
        moment = (
            RECIPIENTS.c.opened_at
            if self._rule.field == "engagement.opened"
            else RECIPIENTS.c.clicked_at
        )
        conditions = [RECIPIENTS.c.contact_id == CONTACTS.c.id, moment.is_not(None)]
        if engagement.campaign_id is not None:
            conditions.append(RECIPIENTS.c.campaign_id == engagement.campaign_id)
        if engagement.within_days is not None:
            since = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=engagement.within_days)
            conditions.append(moment >= since)
        return exists(select(1).select_from(RECIPIENTS).where(*conditions))


def compile_group(
    group: Group,
    operators: Registry[SegmentOperator],
    user_id: int,
    indexed: Indexed = frozenset(),
) -> ColumnElement[bool]:
    parts = [
        compile_group(item, operators, user_id, indexed)
        if isinstance(item, Group)
        else _compile_rule(item, operators, user_id, indexed)
        for item in group.rules
    ]
    if group.junction is Junction.OR:
        return or_(*parts)
    combined = and_(*parts)
    if group.junction is Junction.NOT:
        return not_(func.coalesce(combined, false()))
    return combined


def _compile_rule(
    rule: Rule, operators: Registry[SegmentOperator], user_id: int, indexed: Indexed
) -> ColumnElement[bool]:
    form = operators[rule.operator].forms[rule.kind]
    expression: ColumnElement[bool] = form.sql(ContactField(rule, user_id, indexed), rule.value)
    return expression


def audience_where(
    user_id: int,
    group: Group,
    operators: Registry[SegmentOperator],
    *,
    list_id: int | None,
    indexed: Indexed = frozenset(),
) -> list[ColumnElement[bool]]:
    """The WHERE of a segment: the caller's contacts, the conditions, and if `list_id` is given
    only that list's active members."""
    where = [CONTACTS.c.user_id == user_id, compile_group(group, operators, user_id, indexed)]
    if list_id is not None:
        joined = MEMBERSHIPS.join(LISTS, LISTS.c.id == MEMBERSHIPS.c.list_id)
        where.append(
            exists(
                select(1)
                .select_from(joined)
                .where(
                    MEMBERSHIPS.c.contact_id == CONTACTS.c.id,
                    MEMBERSHIPS.c.list_id == list_id,
                    MEMBERSHIPS.c.status == "ACTIVE",
                    LISTS.c.user_id == user_id,
                )
            )
        )
    return where


def count_statement(
    user_id: int,
    group: Group,
    operators: Registry[SegmentOperator],
    *,
    list_id: int | None,
    indexed: Indexed = frozenset(),
) -> Select[int]:
    """`count(*)` of a segment's contacts: the statement `GET /segments/{id}/count` runs."""
    where = audience_where(user_id, group, operators, list_id=list_id, indexed=indexed)
    return select(func.count()).select_from(CONTACTS).where(*where)
