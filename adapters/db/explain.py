"""`Explain(statement)`: EXPLAIN (ANALYZE, BUFFERS) of a SQLAlchemy statement, executed with the
statement's own bound parameters, so the plan shown is the one the application's SQL gets (the
benchmarks print it; the segment tests check which index serves a rule)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement


class Explain(Executable, ClauseElement):
    inherit_cache = False

    def __init__(self, statement: Any, *, analyze: bool = True) -> None:
        self.statement = statement
        self.analyze = analyze


@compiles(Explain, "postgresql")
def _compile_explain(element: Explain, compiler: SQLCompiler, **kw: Any) -> str:
    options = "(ANALYZE, BUFFERS) " if element.analyze else ""
    return f"EXPLAIN {options}" + compiler.process(element.statement, **kw)
