from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from openmailer.adapters.db.engine import create_engine, to_async_url

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@db:5432/om", "postgresql+asyncpg://u:p@db:5432/om"),
        ("postgres://u@db/om", "postgresql+asyncpg://u@db/om"),
        ("postgresql+asyncpg://u@db/om", "postgresql+asyncpg://u@db/om"),
        (
            "postgresql://postgres@/om?host=/tmp/om-1/pg",
            "postgresql+asyncpg://postgres@/om?host=/tmp/om-1/pg",
        ),
        ("postgresql://u@db/om?sslmode=require", "postgresql+asyncpg://u@db/om?ssl=require"),
        ("postgresql://u:p%40ss@db/om", "postgresql+asyncpg://u:p%40ss@db/om"),
        # TLS on loopback protects nothing and costs CPU per query: off unless the URL says.
        (
            "postgresql://u@127.0.0.1:5432/om",
            "postgresql+asyncpg://u@127.0.0.1:5432/om?ssl=disable",
        ),
        ("postgresql://u@localhost/om", "postgresql+asyncpg://u@localhost/om?ssl=disable"),
        ("postgresql://u@[::1]:5432/om", "postgresql+asyncpg://u@[::1]:5432/om?ssl=disable"),
        (
            "postgresql://u@127.0.0.1/om?sslmode=require",
            "postgresql+asyncpg://u@127.0.0.1/om?ssl=require",
        ),
        ("postgresql://u@10.0.0.5/om", "postgresql+asyncpg://u@10.0.0.5/om"),
    ],
)
def test_to_async_url(url: str, expected: str) -> None:
    assert to_async_url(url) == expected


@pytest.mark.parametrize("url", ["mysql://u@db/om", "redis://db", "db/om"])
def test_to_async_url_rejects_other_databases(url: str) -> None:
    with pytest.raises(ValueError, match="not a PostgreSQL URL"):
        to_async_url(url)


def test_a_unix_socket_url_reaches_asyncpg_as_its_host() -> None:
    engine = create_engine("postgresql://postgres@/om?host=/tmp/om-1/pg")
    _, connect_kwargs = engine.dialect.create_connect_args(make_url(engine.url))

    assert engine.url.drivername == "postgresql+asyncpg"
    assert connect_kwargs["host"] == "/tmp/om-1/pg"
    assert connect_kwargs["database"] == "om"
