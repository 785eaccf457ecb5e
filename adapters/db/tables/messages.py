"""Idempotency keys of the transactional send API (migration 026; not in the spec)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from openmailer.adapters.db.base import Base, timestamp_now_column


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key", name="uq_idempotency_keys_user_key"),
        Index("idx_idempotency_keys_expires", "expires_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    email_log_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("email_logs.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = timestamp_now_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime())
