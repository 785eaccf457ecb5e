"""Idempotency keys of the transactional send API (migrations 026 and 031; not in the spec)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
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
    # Migration 031: every message of the answer (a request may name up to 50 recipients);
    # email_log_id keeps the first, and NULL there still means "being answered".
    email_log_ids: Mapped[list[int] | None] = mapped_column(ARRAY(BigInteger))
    created_at: Mapped[datetime] = timestamp_now_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime())
