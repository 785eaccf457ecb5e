"""Contacts, contact lists, list memberships and segments (spec tables 6, 7, 8, 9)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from openmailer.adapters.db.base import (
    CURRENT_TIMESTAMP,
    Base,
    enum_check,
    integer_default,
    timestamp_now_column,
)

CONTACT_STATUSES = ("PENDING", "SUBSCRIBED", "UNSUBSCRIBED", "BOUNCED", "COMPLAINED")
BOUNCE_TYPES = ("SOFT", "HARD")
CONTACT_SOURCES = ("WEB_FORM", "CSV_IMPORT", "API", "MANUAL")
MEMBERSHIP_STATUSES = ("ACTIVE", "REMOVED")
# 122 random bits as hex, spelled as PostgreSQL prints it (alembic compares defaults as text).
RANDOM_PUBLIC_ID = "replace((gen_random_uuid())::text, '-'::text, ''::text)"


def _counter() -> Mapped[int | None]:
    return mapped_column(Integer, server_default=integer_default(0))


class ContactList(Base):
    __tablename__ = "contact_lists"
    __table_args__ = (UniqueConstraint("user_id", "name", name="unique_list_name_per_user"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    total_contacts: Mapped[int | None] = _counter()
    active_contacts: Mapped[int | None] = _counter()
    double_opt_in_enabled: Mapped[bool | None] = mapped_column(Boolean, server_default=true())
    created_at: Mapped[datetime] = timestamp_now_column()
    updated_at: Mapped[datetime] = timestamp_now_column()
    # Not in the spec (migration 034): the random id of the list's public form, and the custom
    # fields that form asks for.
    public_id: Mapped[str] = mapped_column(
        String(32), server_default=text(RANDOM_PUBLIC_ID), nullable=False
    )
    form_fields: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default=text("'{}'::text[]"), nullable=False
    )


Index("idx_contact_lists_public_id", ContactList.public_id, unique=True)


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        enum_check("status", CONTACT_STATUSES),
        enum_check("bounce_type", BOUNCE_TYPES),
        enum_check("source", CONTACT_SOURCES),
        UniqueConstraint("user_id", "email", name="unique_contact_per_user"),
        Index("idx_contacts_tags", "tags", postgresql_using="gin"),
        Index("idx_contacts_custom_fields", "custom_fields", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(255), index=True)
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(50), server_default="PENDING", index=True)
    email_verified: Mapped[bool | None] = mapped_column(Boolean, server_default=false())
    confirmation_token: Mapped[str | None] = mapped_column(String(255), unique=True)
    confirmation_sent_at: Mapped[datetime | None] = mapped_column(DateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime())
    unsubscribe_token: Mapped[str | None] = mapped_column(String(255), unique=True)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime())
    unsubscribe_reason: Mapped[str | None] = mapped_column(Text)
    bounce_count: Mapped[int | None] = _counter()
    last_bounce_at: Mapped[datetime | None] = mapped_column(DateTime())
    bounce_type: Mapped[str | None] = mapped_column(String(50))
    complaint_count: Mapped[int | None] = _counter()
    last_complaint_at: Mapped[datetime | None] = mapped_column(DateTime())
    custom_fields: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    gdpr_consent: Mapped[bool | None] = mapped_column(Boolean, server_default=false())
    gdpr_consent_date: Mapped[datetime | None] = mapped_column(DateTime())
    gdpr_ip_address: Mapped[str | None] = mapped_column(String(45))
    source: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    created_at: Mapped[datetime] = timestamp_now_column()
    updated_at: Mapped[datetime] = timestamp_now_column()


# Migration 024: one contact per user per address in any case (the pattern operator class lets
# the same index serve the email-prefix filter), and keyset pages by id within a user.
Index(
    "idx_contacts_user_email_lower",
    Contact.user_id,
    func.lower(Contact.email).label("email_lower"),
    unique=True,
    postgresql_ops={"email_lower": "text_pattern_ops"},
)
Index("idx_contacts_user_id_id", Contact.user_id, Contact.id)


class ContactListMembership(Base):
    __tablename__ = "contact_list_memberships"
    __table_args__ = (
        enum_check("status", MEMBERSHIP_STATUSES),
        UniqueConstraint("contact_id", "list_id", name="unique_contact_list_membership"),
        Index("idx_memberships_contact", "contact_id"),
        Index("idx_memberships_list", "list_id"),
        Index("idx_memberships_status", "status"),
        Index("idx_memberships_list_contact", "list_id", "contact_id"),  # migration 024
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("contacts.id", ondelete="CASCADE")
    )
    list_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("contact_lists.id", ondelete="CASCADE")
    )
    status: Mapped[str | None] = mapped_column(String(50), server_default="ACTIVE")
    subscribed_at: Mapped[datetime | None] = mapped_column(
        DateTime(), server_default=CURRENT_TIMESTAMP
    )
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime())
    created_at: Mapped[datetime] = timestamp_now_column()


class ContactStatusOverride(Base):
    """Not in the spec (migration 024): why a BOUNCED or COMPLAINED contact was made SUBSCRIBED
    or PENDING again, and when; the API refuses that move without a reason."""

    __tablename__ = "contact_status_overrides"
    __table_args__ = (
        enum_check("from_status", CONTACT_STATUSES),
        enum_check("to_status", CONTACT_STATUSES),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    from_status: Mapped[str] = mapped_column(String(50))
    to_status: Mapped[str] = mapped_column(String(50))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp_now_column()


class ErasedContact(Base):
    """Not in the spec (migration 025): the tombstone of an erased contact, a keyed hash of its
    address (never the address), and the anonymised record of when and whose."""

    __tablename__ = "erased_contacts"
    __table_args__ = (Index("idx_erased_contacts_user_hash", "user_id", "address_hash"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigInteger)
    address_hash: Mapped[bytes] = mapped_column(LargeBinary)
    erased_at: Mapped[datetime] = timestamp_now_column()


class ErasureKey(Base):
    """Not in the spec (migration 025): the one random key tombstones are hashed under, sealed
    like every secret at rest (see the migration for why it is not derived from those keys)."""

    __tablename__ = "erasure_keys"
    __table_args__ = (CheckConstraint("id = 1", name="id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    sealed_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp_now_column()


class Segment(Base):
    __tablename__ = "segments"
    __table_args__ = (Index("idx_segments_conditions", "conditions", postgresql_using="gin"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    list_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("contact_lists.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSONB)
    is_dynamic: Mapped[bool | None] = mapped_column(Boolean, server_default=true())
    cached_count: Mapped[int | None] = _counter()
    last_calculated_at: Mapped[datetime | None] = mapped_column(DateTime())
    created_at: Mapped[datetime] = timestamp_now_column()
    updated_at: Mapped[datetime] = timestamp_now_column()
