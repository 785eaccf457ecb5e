"""`{"field": "email", "operator": "email_domain", "value": ["example.com", "example.org"]}`.

Imports only `openmailer.core`, `openmailer.plugins` and SQLAlchemy: never `openmailer.adapters`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func

from openmailer.core.ports import FieldSql
from openmailer.core.registry import Registrar
from openmailer.core.segments.operators import (
    FieldKind,
    OperatorForm,
    SegmentOperator,
    ValueShape,
)
from openmailer.plugins import hookimpl


def domain_is_one_of(field: FieldSql, domains: list[str]) -> Any:
    domain = func.lower(func.split_part(field.value(), "@", 2))
    return domain.in_([name.lower() for name in domains])


@hookimpl
def register_segment_operators(operators: Registrar[SegmentOperator]) -> None:
    operators.add(
        "email_domain",
        SegmentOperator(
            {FieldKind.TEXT: OperatorForm(ValueShape.TEXT_LIST, domain_is_one_of)},
            description="the address's domain is one of these (case-insensitive)",
        ),
    )
