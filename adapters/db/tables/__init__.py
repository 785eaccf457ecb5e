"""Every table of the schema, as SQLAlchemy 2.0 typed mapped classes; `metadata` holds them all.

The classes live in topic modules; import them from here so `metadata` is always complete.
The migrations in `openmailer.migrations` create exactly this schema (a test compares them).
"""

from __future__ import annotations

from openmailer.adapters.db.base import Base
from openmailer.adapters.db.tables.campaigns import (
    CampaignClick,
    CampaignClickDaily,
    CampaignLink,
    CampaignRecipient,
    EmailCampaign,
    EmailCampaignArchive,
    EmailTemplate,
    EmailTemplateVersion,
    TrackingEvent,
)
from openmailer.adapters.db.tables.contacts import (
    Contact,
    ContactList,
    ContactListMembership,
    ContactStatusOverride,
    Segment,
)
from openmailer.adapters.db.tables.imports import (
    ImportJob,
    ImportRejection,
    ImportSeenAddress,
    ImportUpload,
)
from openmailer.adapters.db.tables.messages import IdempotencyKey
from openmailer.adapters.db.tables.retention import RetentionRunRecord, UserRetentionSettings
from openmailer.adapters.db.tables.sending import Domain, EmailLog, EmailProvider, WebhookEvent
from openmailer.adapters.db.tables.users import ApiKey, RateLimit, User

metadata = Base.metadata

__all__ = [
    "ApiKey",
    "Base",
    "CampaignClick",
    "CampaignClickDaily",
    "CampaignLink",
    "CampaignRecipient",
    "Contact",
    "ContactList",
    "ContactListMembership",
    "ContactStatusOverride",
    "Domain",
    "EmailCampaign",
    "EmailCampaignArchive",
    "EmailLog",
    "EmailProvider",
    "EmailTemplate",
    "EmailTemplateVersion",
    "IdempotencyKey",
    "ImportJob",
    "ImportRejection",
    "ImportSeenAddress",
    "ImportUpload",
    "RateLimit",
    "RetentionRunRecord",
    "Segment",
    "TrackingEvent",
    "User",
    "UserRetentionSettings",
    "WebhookEvent",
    "metadata",
]
